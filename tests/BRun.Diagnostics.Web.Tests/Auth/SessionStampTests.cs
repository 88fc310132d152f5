using System.Net;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Auth;

/// <summary>
/// A password change signs out the user's other sessions (migration 0086, a session stamp in the cookie checked on
/// every request); the session that changed it gets a renewed cookie through <see cref="SessionRenewal"/>.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class SessionStampTests(IntegrationEnvironment env)
{
    private const string NewPassword = "a new password 1";

    private static async Task<HttpClient> SignedInAsync(DashboardHost host, AppUser user)
    {
        var client = host.NewClient();
        using (var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password))
        {
            Assert.Equal("/runs", signIn.Headers.Location?.OriginalString);
        }

        return client;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/api/runs", UriKind.Relative));
        return response.StatusCode;
    }

    /// <summary>What the account page does: change the password, then load the renewal URL in that session.</summary>
    private static async Task<HttpResponseMessage> ChangeAndRenewAsync(DashboardHost host, HttpClient session, AppUser user)
    {
        var (result, stamp, _) = await host.Services.GetRequiredService<LocalAccountService>()
            .ChangePasswordReturningStampAsync(user.Id, DashboardHost.Password, NewPassword, revokeApiTokens: false, CancellationToken.None);
        Assert.Equal(PasswordChangeResult.Changed, result);
        var url = host.Services.GetRequiredService<SessionRenewal>().CreateUrl(user.Id, stamp!.Value);
        return await session.GetAsync(new Uri(url, UriKind.Relative));
    }

    [Fact]
    public async Task A_password_change_signs_out_the_other_session_and_keeps_the_one_that_changed_it()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var first = await SignedInAsync(host, user);
        using var second = await SignedInAsync(host, user);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (await StatusAsync(first), await StatusAsync(second)));

        using var renewed = await ChangeAndRenewAsync(host, first, user);

        Assert.Equal((HttpStatusCode.Redirect, SessionRenewal.DoneUrl), (renewed.StatusCode, renewed.Headers.Location?.OriginalString));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(second));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(first));
        using var page = await first.GetAsync(new Uri(SessionRenewal.DoneUrl, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Setting_a_password_as_the_operator_signs_out_every_session()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var session = await SignedInAsync(host, user);

        // What brun user set-password calls.
        Assert.True(await host.Services.GetRequiredService<LocalAccountService>().SetPasswordAsync(user.Email, NewPassword, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(session));
    }

    [Fact]
    public async Task Signing_in_again_elsewhere_keeps_the_first_session()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var session = await SignedInAsync(host, user);
        using var again = await SignedInAsync(host, user);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (await StatusAsync(session), await StatusAsync(again)));
    }

    [Fact]
    public async Task A_renewal_ticket_without_that_users_cookie_or_after_another_change_signs_no_one_in()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var stranger = await host.CreateUserAsync();
        var accounts = host.Services.GetRequiredService<LocalAccountService>();
        var renewal = host.Services.GetRequiredService<SessionRenewal>();
        using var owner = await SignedInAsync(host, user);
        using var strangerSession = await SignedInAsync(host, stranger);
        using var anonymous = host.NewClient();
        var (_, stamp, _) = await accounts.ChangePasswordReturningStampAsync(user.Id, DashboardHost.Password, NewPassword, revokeApiTokens: false, CancellationToken.None);
        var url = new Uri(renewal.CreateUrl(user.Id, stamp!.Value), UriKind.Relative);

        using var byAnonymous = await anonymous.GetAsync(url);
        using var byStranger = await strangerSession.GetAsync(url);
        using var tampered = await owner.GetAsync(new Uri(url.OriginalString + "x", UriKind.Relative));

        foreach (var response in new[] { byAnonymous, byStranger, tampered })
        {
            Assert.Equal(AuthenticationSetup.LoginPath, response.Headers.Location?.OriginalString);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(anonymous));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(strangerSession));

        // A second change draws another stamp: the first change's ticket no longer renews anything.
        Assert.True(await accounts.SetPasswordAsync(user.Email, "yet another password", CancellationToken.None));
        using var stale = await owner.GetAsync(url);
        Assert.Equal(AuthenticationSetup.LoginPath, stale.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(owner));
    }
}
