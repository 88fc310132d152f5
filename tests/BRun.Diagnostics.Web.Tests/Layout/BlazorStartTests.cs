using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Layout;

/// <summary>brun-start.js starts Blazor itself, skipping the JS-initializers request: that holds only while there are none.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class BlazorStartTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task The_dashboard_has_no_JS_initializers_and_its_pages_start_Blazor_through_brun_start()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();
        using var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);

        // A package that adds a *.lib.module.js initializer shows up here: brun-start.js would then have to fetch them again.
        var initializers = await client.GetStringAsync(new Uri("/_blazor/initializers", UriKind.Relative));
        var page = await client.GetStringAsync(new Uri("/runs", UriKind.Relative));

        Assert.Equal(
            ("[]", true, true),
            (initializers.Trim(), page.Contains("autostart=\"false\"", StringComparison.Ordinal),
                System.Text.RegularExpressions.Regex.IsMatch(page, "<script src=\"brun-start\\.[a-z0-9]+\\.js\"></script>")));
    }
}
