using System.Globalization;
using System.Text.RegularExpressions;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>The dashboard's circuits in its Prometheus metrics (this class's host has them on).</summary>
public sealed partial class DashboardBrowserTests
{
    [Fact]
    public async Task Open_dashboard_pages_are_counted_as_circuits_in_the_metrics()
    {
        var user = await Host.CreateUserAsync();
        var page = await SignInAsync(user);
        using var http = new HttpClient { BaseAddress = Host.BaseAddress };

        var open = CircuitsActive().Match(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        await page.Context.CloseAsync();

        // The page's circuit at least (other tests of this class may have theirs open).
        Assert.True(open.Success && int.Parse(open.Groups[1].Value, CultureInfo.InvariantCulture) >= 1, open.Value);
    }

    [GeneratedRegex(@"^aspnetcore_components_circuit_active\{[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex CircuitsActive();
}
