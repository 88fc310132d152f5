using System.Net;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Layout;

[Collection(IntegrationEnvironment.Collection)]
public sealed class NotFoundPageTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task An_unknown_page_url_answers_404_with_the_dashboards_not_found_page_naming_the_address()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = await host.SignedInClientAsync(await host.CreateUserAsync());

        using var response = await client.GetAsync(new Uri("/no/such-page?x=1", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Page not found", html, StringComparison.Ordinal);
        Assert.Contains("/no/such-page?x=1", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_api_url_still_answers_problem_json()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = await host.SignedInClientAsync(await host.CreateUserAsync());

        using var response = await client.GetAsync(new Uri("/api/no-such-endpoint", UriKind.Relative));

        Assert.Equal((HttpStatusCode.NotFound, "application/problem+json"), (response.StatusCode, response.Content.Headers.ContentType?.MediaType));
    }

    [Fact]
    public async Task An_anonymous_api_call_still_answers_401_without_an_html_page()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await client.GetAsync(new Uri("/api/runs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEqual("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Every_page_links_a_favicon_that_is_served_to_anonymous_users()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        var login = await client.GetStringAsync(new Uri("/account/login", UriKind.Relative));
        var href = System.Text.RegularExpressions.Regex.Match(login, "<link rel=\"icon\"[^>]* href=\"([^\"]+)\"").Groups[1].Value;
        using var icon = await client.GetAsync(new Uri("/" + href.TrimStart('/'), UriKind.Relative));

        Assert.StartsWith("favicon", href, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "image/svg+xml"), (icon.StatusCode, icon.Content.Headers.ContentType?.MediaType));
    }
}
