using System.Net;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Auth;

/// <summary>/admin/users over HTTP: an admin gets the list; a member is refused by the endpoint's authorization and told why.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class AdminPageAccessTests(IntegrationEnvironment env)
{
    private static async Task<(HttpStatusCode Status, string Body, string? Location)> GetAsUserAsync(DashboardHost host, AppUser user, string path)
    {
        using var client = await host.SignedInClientAsync(user);
        return await GetAsync(client, path);
    }

    private static async Task<(HttpStatusCode Status, string Body, string? Location)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString());
    }

    [Fact]
    public async Task A_member_at_the_users_page_is_refused_and_sees_no_users()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var member = await host.CreateUserAsync();

        using var client = await host.SignedInClientAsync(member);

        var (status, body, location) = await GetAsync(client, "/admin/users");
        // Sent to a page that says why, not to sign in again (which read as if the session had ended).
        var target = new Uri(location!, UriKind.RelativeOrAbsolute);
        var (deniedStatus, deniedBody, _) = await GetAsync(client, target.IsAbsoluteUri ? target.PathAndQuery : location!);

        Assert.Equal((HttpStatusCode.Redirect, true, false, HttpStatusCode.OK, true),
            (status, location!.Contains("/account/denied", StringComparison.Ordinal), body.Contains(admin.Email, StringComparison.Ordinal),
                deniedStatus, deniedBody.Contains("This page is for admins", StringComparison.Ordinal)));
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
