using System.Net;
using System.Net.Http.Headers;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Auth;

/// <summary>A disabled user (migration 0076) is refused everywhere: the sign-in form, an API token, an existing cookie.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class DisabledUserTests(IntegrationEnvironment env)
{
    private static Task DisableAsync(DashboardHost host, AppUser admin, AppUser user) =>
        host.Services.GetRequiredService<UserAdministration>().SetDisabledAsync(admin.Id, user.Id, disabled: true, CancellationToken.None);

    [Fact]
    public async Task A_disabled_user_is_refused_at_sign_in()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var user = await host.CreateUserAsync();
        await DisableAsync(host, admin, user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);

        Assert.StartsWith("/account/login?error=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_users_token_gets_401()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        var token = await host.CreateTokenAsync(user);
        await DisableAsync(host, admin, user);
        using var client = host.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var response = await client.GetAsync(new Uri($"/api/runs/{runId}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_cookie_issued_before_the_user_was_disabled_stops_working()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        using var client = await host.SignedInClientAsync(user);

        using (var before = await client.GetAsync(new Uri($"/api/runs/{runId}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await DisableAsync(host, admin, user);

        using var after = await client.GetAsync(new Uri($"/api/runs/{runId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }
}
