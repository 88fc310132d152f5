using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Styling;

namespace BRun.Diagnostics.Web.Tests.Styling;

/// <summary>The cut of MudBlazor's stylesheet that pages link for their first paint, as the real host serves it.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed partial class FirstPaintStylesheetTests(IntegrationEnvironment env)
{
    [GeneratedRegex("<link href=\"(?<cut>_styles/first-paint\\.[0-9a-f]{16}\\.css)\" rel=\"stylesheet\" data-brun-first-paint=\"(?<whole>[^\"]+)\"(?<static> data-brun-static-page)? />")]
    private static partial Regex FirstPaintLink();

    [Fact]
    public async Task The_sign_in_page_links_the_cut_which_anyone_may_fetch_cached_for_good_and_compressed()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        var link = FirstPaintLink().Match(await client.GetStringAsync(new Uri("/account/login", UriKind.Relative)));
        Assert.True(link.Success, "the sign-in page links the first-paint sheet");
        var cutUrl = new Uri("/" + link.Groups["cut"].Value, UriKind.Relative);

        using var plain = await client.GetAsync(cutUrl);
        var css = await plain.Content.ReadAsStringAsync();
        using var brotliRequest = new HttpRequestMessage(HttpMethod.Get, cutUrl) { Headers = { AcceptEncoding = { new StringWithQualityHeaderValue("gzip"), new StringWithQualityHeaderValue("br") } } };
        using var brotli = await client.SendAsync(brotliRequest);
        await using var decoded = new BrotliStream(await brotli.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var reader = new StreamReader(decoded);
        using var revalidation = new HttpRequestMessage(HttpMethod.Get, cutUrl) { Headers = { IfNoneMatch = { plain.Headers.ETag! } } };
        using var notModified = await client.SendAsync(revalidation);

        Assert.Equal(
            (HttpStatusCode.OK, "text/css", true, true, "br", css, HttpStatusCode.NotModified),
            (plain.StatusCode, plain.Content.Headers.ContentType?.MediaType, plain.Headers.CacheControl?.ToString().Contains("immutable", StringComparison.Ordinal),
                link.Groups["static"].Success, brotli.Content.Headers.ContentEncoding.SingleOrDefault(), await reader.ReadToEndAsync(), notModified.StatusCode));
    }

    [Fact]
    public async Task The_cut_keeps_the_rules_of_the_classes_pages_show_and_a_small_part_of_the_whole_sheet()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();
        var link = FirstPaintLink().Match(await client.GetStringAsync(new Uri("/account/login", UriKind.Relative)));
        var cut = await client.GetStringAsync(new Uri("/" + link.Groups["cut"].Value, UriKind.Relative));
        var whole = await client.GetStringAsync(new Uri("/" + link.Groups["whole"].Value, UriKind.Relative));

        var cutClasses = CssClassFilter.ClassNames(cut);
        // The grid's cells, the chips and inputs are in; a component no page shows first is not.
        Assert.Subset(cutClasses.ToHashSet(), new HashSet<string> { "mud-table-cell", "mud-chip-color-error", "mud-input", "mud-appbar" });
        Assert.DoesNotContain("mud-timeline", cutClasses);
        Assert.DoesNotContain("mud-dialog", cutClasses);
        // The whole sheet cut with every class kept is the whole sheet: the parser drops nothing it should keep.
        Assert.Equal(CssClassFilter.ClassNames(whole).Count, CssClassFilter.ClassNames(CssClassFilter.Filter(whole, _ => true)).Count);
        Assert.InRange(cut.Length, 10_000, whole.Length / 5);
    }

    [Fact]
    public async Task A_signed_in_page_links_the_cut_for_its_circuit_and_another_hash_is_not_found()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();
        using var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);

        var link = FirstPaintLink().Match(await client.GetStringAsync(new Uri("/runs", UriKind.Relative)));
        using var otherHash = await client.GetAsync(new Uri("/_styles/first-paint.0123456789abcdef.css", UriKind.Relative));

        Assert.Equal((true, false, HttpStatusCode.NotFound), (link.Success, link.Groups["static"].Success, otherHash.StatusCode));
    }
}
