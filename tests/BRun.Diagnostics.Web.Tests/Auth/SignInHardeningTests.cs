using System.Net;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class SignInHardeningTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task After_N_wrong_passwords_even_the_right_one_is_refused()
    {
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?> { ["Auth:Lockout:MaxFailuresPerAccount"] = "3" });
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();

        for (var i = 0; i < 3; i++)
        {
            using var wrong = await DashboardHost.SignInAsync(client, user.Email, "wrong password");
            Assert.Contains(i < 2 ? "error=1" : "error=locked", wrong.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        using var right = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);

        Assert.Contains("error=locked", right.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(right.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("brun.auth=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sign_out_without_the_antiforgery_token_is_refused()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();
        using var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);

        using var forged = await client.PostAsync(new Uri("/account/logout", UriKind.Relative), new FormUrlEncodedContent([]));
        using var stillIn = await client.GetAsync(new Uri("/api/failed-generations", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stillIn.StatusCode);
    }

    [Fact]
    public async Task A_sign_in_cookie_survives_a_restart_of_the_web_host()
    {
        await using var db = await env.CreateDatabaseAsync();
        string cookie;
        await using (var first = DashboardHost.StartOn(db))
        {
            var user = await first.CreateUserAsync();
            using var client = first.NewClient();
            using var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);
            cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("brun.auth=", StringComparison.Ordinal)).Split(';')[0];
        }

        // A new process would have a fresh in-memory key ring; the keys in blob storage are what make this pass.
        await using var second = DashboardHost.StartOn(db);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/failed-generations", UriKind.Relative));
        request.Headers.Add("Cookie", cookie);
        using var response = await second.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false }).SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Outside_demo_mode_no_account_with_a_known_password_is_created()
    {
        await using var db = await env.CreateDatabaseAsync();
        await using (var plain = DashboardHost.StartOn(db, new Dictionary<string, string?> { ["Auth:SeedAdminPassword"] = null }))
        {
            _ = plain.Services;
        }

        await using (var demoPassword = DashboardHost.StartOn(db, new Dictionary<string, string?> { ["Auth:SeedAdminPassword"] = AuthOptions.DemoAdminPassword }))
        {
            _ = demoPassword.Services;
        }

        Assert.Equal(0, await UserCountAsync(db));

        await using var demo = DashboardHost.StartOn(db, new Dictionary<string, string?> { ["Auth:SeedAdminPassword"] = null, ["Demo:Enabled"] = "true" });
        var accounts = demo.Services.GetRequiredService<LocalAccountService>();
        Assert.Null(demo.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value.SeedAdminPassword);

        Assert.NotNull(await accounts.VerifyPasswordAsync("admin@brun.local", AuthOptions.DemoAdminPassword, CancellationToken.None));
    }

    private static async Task<long> UserCountAsync(TestDatabase db)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM app_users");
    }

    [Fact]
    public async Task A_stale_sign_in_form_leads_back_to_the_form_with_a_message_and_signs_nobody_in()
    {
        // Production: its exception handler re-ran the refused post as a page, which read the form again and turned
        // the antiforgery refusal into a 500 with a stack trace in the log.
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?> { ["environment"] = "Production" });
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = "stale-or-forged",
            ["Email"] = user.Email,
            ["Password"] = DashboardHost.Password,
            ["ReturnUrl"] = "/runs",
        });

        using var stale = await client.PostAsync(new Uri("/account/login", UriKind.Relative), form);
        var page = await client.GetStringAsync(new Uri(stale.Headers.Location!.OriginalString, UriKind.Relative));

        Assert.Equal(
            (HttpStatusCode.Redirect, "/account/login?error=expired&returnUrl=%2Fruns", true, false),
            (stale.StatusCode, stale.Headers.Location.OriginalString, page.Contains("The sign-in form had expired", StringComparison.Ordinal),
                stale.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("brun.auth=", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task A_form_posted_to_a_page_path_is_refused_as_a_post_not_re_run_as_a_page()
    {
        // The not-found page is for pages: a post re-run as one was checked for an antiforgery token again (a 400
        // about a token for a path that takes no posts; for the sign-in form's own refusal, a 500).
        await using var host = await DashboardHost.StartAsync(env, new Dictionary<string, string?> { ["environment"] = "Production" });
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();
        using var signIn = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["field"] = "value" });

        using var posted = await client.PostAsync(new Uri("/no-such-page", UriKind.Relative), form);
        using var got = await client.GetAsync(new Uri("/no-such-page", UriKind.Relative));

        Assert.Equal((HttpStatusCode.MethodNotAllowed, HttpStatusCode.NotFound), (posted.StatusCode, got.StatusCode));
    }
}
