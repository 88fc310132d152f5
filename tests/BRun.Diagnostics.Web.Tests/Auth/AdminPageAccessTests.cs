using System.Net;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Auth;

/// <summary>/admin/users over HTTP: an admin gets the list; a member is refused by the endpoint's authorization (access denied goes to the sign-in page).</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class AdminPageAccessTests(IntegrationEnvironment env)
{
    private static async Task<(HttpStatusCode Status, string Body, string? Location)> GetAsUserAsync(DashboardHost host, AppUser user, string path)
    {
        using var client = host.NewClient();
        using (await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password))
        {
        }

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString());
    }

    [Fact]
    public async Task A_member_at_the_users_page_is_refused_and_sees_no_users()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var member = await host.CreateUserAsync();

        var (status, body, location) = await GetAsUserAsync(host, member, "/admin/users");

        Assert.Equal((HttpStatusCode.Redirect, true, false),
            (status, location?.Contains("/account/login", StringComparison.Ordinal) == true, body.Contains(admin.Email, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_admin_at_the_users_page_sees_the_users()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var member = await host.CreateUserAsync();

        var (status, body, _) = await GetAsUserAsync(host, admin, "/admin/users");

        Assert.Equal((HttpStatusCode.OK, true), (status, body.Contains(member.Email, StringComparison.Ordinal)));
    }
}
