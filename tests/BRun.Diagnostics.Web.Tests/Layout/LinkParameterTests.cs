using System.Net;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Layout;

/// <summary>
/// A link whose query values a page cannot honour: the page answers and says what it left out. Blazor throws on a
/// query value it cannot convert to the parameter's type, so "?page=abc" and "?a=abc" were 500s; filter values the
/// parser refused were left out without a word, which showed more than the link asked for.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class LinkParameterTests(IntegrationEnvironment env)
{
    [Theory]
    [InlineData("/conversations/failed?page=abc", "page &#x27;abc&#x27; is not a whole number. Accepted: a whole number from 1 (page 1 is shown instead).")]
    [InlineData("/conversations/failed?page=0&failure_type=xyz", "page 0 is out of range. Accepted: a whole number from 1 (page 1 is shown instead).")]
    [InlineData("/conversations/failed?failure_type=xyz", "failure_type &#x27;xyz&#x27; is not a failure type.")]
    [InlineData("/conversations/failed?model=a%00b&page=%00", "is not a model id.")]
    [InlineData("/conversations/failed/insights?run_id=abc", "run_id &#x27;abc&#x27; is not a run id.")]
    [InlineData("/runs/compare?a=abc&b=%00", "is not a run id (a GUID")]
    [InlineData("/runs/compare?a=3f2504e0-4f89-11d3-9a0c-0305e82c3301&b=abc", "is not a run id (a GUID")]
    [InlineData("/datasets?scan=abc", "scan is not a scan id (a GUID); the latest scan is shown.")]
    public async Task A_query_value_the_page_cannot_honour_is_named_on_the_page_not_a_500(string url, string said)
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = await host.SignedInClientAsync(await host.CreateUserAsync());

        using var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(said, html, StringComparison.Ordinal);
    }
}
