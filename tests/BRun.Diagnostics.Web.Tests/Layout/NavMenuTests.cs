using BRun.Diagnostics.Web.Components.Layout;
using BRun.Diagnostics.Web.Components.Pages;
using Bunit;
using Bunit.TestDoubles;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Layout;

public sealed class NavMenuTests : DashboardTestContext
{
    private readonly BunitAuthorizationContext _auth;

    public NavMenuTests() => _auth = AddAuthorization();

    [Fact]
    public void Failed_generations_link_has_an_alert_icon_and_is_highlighted_on_its_page()
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo("/conversations/failed");

        var cut = Render<NavMenu>();

        var failed = cut.Find("a[href='/conversations/failed']");
        Assert.Equal(
            (true, true, "Failed Generations", false),
            (failed.ClassList.Contains("active"), failed.QuerySelector("svg") is not null, failed.TextContent.Trim(),
             cut.Find("a[href='/runs']").ClassList.Contains("active")));
    }

    [Fact]
    public void Runs_link_is_highlighted_on_a_run_page()
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo($"/runs/{Guid.NewGuid()}");

        var cut = Render<NavMenu>();

        Assert.Equal(
            (true, false),
            (cut.Find("a[href='/runs']").ClassList.Contains("active"), cut.Find("a[href='/conversations/failed']").ClassList.Contains("active")));
    }

    [Fact]
    public void Insights_has_its_own_link_in_the_side_navigation()
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo("/conversations/failed/insights");

        var cut = Render<NavMenu>();

        Assert.True(cut.Find("a[href='/conversations/failed/insights']").ClassList.Contains("active"));
    }

    [Fact]
    public void A_member_has_an_account_link_and_no_users_link()
    {
        _auth.SetAuthorized("Ana");

        var cut = Render<NavMenu>();

        Assert.Equal((1, 0), (cut.FindAll("a[href='/account']").Count, cut.FindAll("a[href='/admin/users']").Count));
    }

    [Fact]
    public void An_admin_has_a_users_link()
    {
        _auth.SetAuthorized("Root");
        _auth.SetRoles("admin");

        var cut = Render<NavMenu>();

        Assert.Single(cut.FindAll("a[href='/admin/users']"));
    }

    [Fact]
    public void Datasets_has_its_own_link_in_the_side_navigation()
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo("/datasets");

        var cut = Render<NavMenu>();

        Assert.True(cut.Find("a[href='/datasets']").ClassList.Contains("active"));
    }
}
