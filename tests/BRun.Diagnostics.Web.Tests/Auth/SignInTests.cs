using System.Net;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Web.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class SignInTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task Sign_in_with_the_right_password_sets_a_cookie_that_opens_the_api()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password, "/runs");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/runs", response.Headers.Location?.OriginalString);
        using var api = await client.GetAsync(new Uri($"/api/runs/{runId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task Sign_in_with_a_wrong_password_goes_back_to_the_form_with_an_error_and_no_cookie()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        var runId = await host.CreateRunAsync(user);
        using var client = host.NewClient();

        using var response = await DashboardHost.SignInAsync(client, user.Email, "not the password");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/account/login?error=1", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        using var api = await client.GetAsync(new Uri($"/api/runs/{runId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task After_a_wrong_password_the_form_comes_back_with_the_email_still_filled_in()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();

        using var response = await DashboardHost.SignInAsync(client, user.Email, "not the password");
        var form = await client.GetStringAsync(response.Headers.Location);

        Assert.Contains("Wrong email or password.", form, StringComparison.Ordinal);
        Assert.Contains($"value=\"{user.Email}\"", form, StringComparison.Ordinal);
        Assert.DoesNotContain(user.Email, response.Headers.Location?.OriginalString ?? string.Empty, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sign_in_does_not_redirect_to_another_site()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var user = await host.CreateUserAsync();
        using var client = host.NewClient();

        using var response = await DashboardHost.SignInAsync(client, user.Email, DashboardHost.Password, "//evil.example/steal");

        Assert.Equal("/", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Anonymous_api_request_gets_401()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await client.GetAsync(new Uri($"/api/runs/{Guid.NewGuid()}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Anonymous_page_request_is_redirected_to_the_sign_in_page()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        using var response = await client.GetAsync(new Uri("/runs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("http://localhost/account/login?ReturnUrl=%2Fruns", response.Headers.Location?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_in_page_is_open_to_anonymous_users_and_posts_email_and_password()
    {
        await using var host = await DashboardHost.StartAsync(env);
        using var client = host.NewClient();

        var page = await client.GetStringAsync(new Uri("/account/login", UriKind.Relative));

        Assert.Contains("name=\"Email\"", page, StringComparison.Ordinal);
        Assert.Contains("name=\"Password\"", page, StringComparison.Ordinal);
    }
}
