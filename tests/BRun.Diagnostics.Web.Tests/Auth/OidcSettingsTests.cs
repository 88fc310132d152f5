using System.Net;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class OidcSettingsTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task Without_an_authority_there_is_no_single_sign_on()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        var page = await client.GetStringAsync(new Uri("/account/login", UriKind.Relative));
        using var challenge = await client.GetAsync(new Uri("/account/login/oidc", UriKind.Relative));

        Assert.Equal((false, HttpStatusCode.NotFound), (page.Contains("account/login/oidc", StringComparison.Ordinal), challenge.StatusCode));
    }

    [Fact]
    public async Task With_an_authority_the_sign_in_page_offers_single_sign_on()
    {
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?>
        {
            ["Authentication:Oidc:Authority"] = "https://login.example.test/realms/brun",
            ["Authentication:Oidc:ClientId"] = "brun-dashboard",
            ["Authentication:Oidc:DisplayName"] = "Company login",
        });
        using var client = host.NewClient();

        var page = await client.GetStringAsync(new Uri("/account/login?returnUrl=%2Fruns", UriKind.Relative));

        Assert.Equal((true, true), (page.Contains("account/login/oidc?returnUrl=%2Fruns", StringComparison.Ordinal), page.Contains("Company login", StringComparison.Ordinal)));
    }
}
