using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests;

/// <summary>
/// The real web host (Program) in process, on a test database of its own. Clients do not follow redirects, so
/// tests see the 302s of sign-in and challenges.
/// </summary>
internal sealed partial class DashboardHost : WebApplicationFactory<Program>
{
    public const string Password = "correct horse battery";

    private readonly TestDatabase _db;
    private readonly IReadOnlyDictionary<string, string?> _extraSettings;
    private readonly bool _ownsDatabase;

    private DashboardHost(TestDatabase db, IReadOnlyDictionary<string, string?>? extraSettings, bool ownsDatabase = true)
    {
        _db = db;
        _extraSettings = extraSettings ?? new Dictionary<string, string?>();
        _ownsDatabase = ownsDatabase;
    }

    public TestDatabase Db => _db;

    public static async Task<DashboardHost> StartAsync(IntegrationEnvironment env, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var db = await env.CreateDatabaseAsync();
        return new DashboardHost(db, settings);
    }

    /// <summary>Another host on a database the caller owns (a restart, or a second instance).</summary>
    public static DashboardHost StartOn(TestDatabase db, IReadOnlyDictionary<string, string?>? settings = null) => new(db, settings, ownsDatabase: false);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _db.Settings())
        {
            builder.UseSetting(key, value);
        }

        // No demo admin: tests create exactly the users they need (unless a test is about seeding).
        if (!_extraSettings.ContainsKey("Auth:SeedAdminPassword"))
        {
            builder.UseSetting("Auth:SeedAdminPassword", string.Empty);
        }

        builder.UseSetting("Live:ListenerEnabled", "false");
        // Runs stay as created: these tests look at counts, not at generation.
        builder.UseSetting("Worker:Enabled", "false");
        // The key ring of this test's hosts only.
        builder.UseSetting("DataProtection:ContainerName", "dp-" + _db.ContainerName.Replace("reports-", string.Empty, StringComparison.Ordinal));
        // A null value leaves the key unset (UseSetting would turn null into an empty string).
        foreach (var (key, value) in _extraSettings.Where(s => s.Value is not null))
        {
            builder.UseSetting(key, value);
        }
    }

    public HttpClient NewClient() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    public async Task<AppUser> CreateUserAsync(string role = AppUserRoles.Member)
    {
        var accounts = Services.GetRequiredService<LocalAccountService>();
        return await accounts.CreateAsync($"{role}-{Guid.NewGuid():N}@example.test", role, Password, role, CancellationToken.None);
    }

    public Task<Guid> CreateRunAsync(AppUser owner, int count = 3) =>
        Services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(count, "default", "claude-sonnet-4-5", 1024, 0.5m), CancellationToken.None);

    public async Task<string> CreateTokenAsync(AppUser owner) =>
        (await Services.GetRequiredService<ApiTokenStore>().CreateAsync(owner.Id, "test", CancellationToken.None)).Token;

    /// <summary>Sends <paramref name="body"/> (as JSON, when given) with an API token.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, string token, object? body = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(method, new Uri(url, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await client.SendAsync(request);
    }

    /// <summary>A new client signed in as <paramref name="user"/> (see <see cref="SignInAsAsync"/>).</summary>
    public async Task<HttpClient> SignedInClientAsync(AppUser user)
    {
        var client = NewClient();
        await SignInAsAsync(client, user);
        return client;
    }

    /// <summary>
    /// Signs <paramref name="client"/> in as <paramref name="user"/> (its cookie is kept), failing the test unless the
    /// sign-in sends it on to the page it asked for: a refused sign-in redirects too, back to the sign-in page.
    /// </summary>
    public static async Task SignInAsAsync(HttpClient client, AppUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        using var response = await SignInAsync(client, user.Email, Password);
        Assert.Equal((HttpStatusCode.Redirect, "/runs"), (response.StatusCode, response.Headers.Location?.OriginalString));
    }

    /// <summary>Loads the sign-in page (for its antiforgery token) and posts the form.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string email, string password, string returnUrl = "/runs")
    {
        var page = await client.GetStringAsync(new Uri($"/account/login?returnUrl={Uri.EscapeDataString(returnUrl)}", UriKind.Relative));
        var token = AntiforgeryField().Match(page);
        Assert.True(token.Success, "The sign-in page has no antiforgery token.");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
            ["Email"] = email,
            ["Password"] = password,
            ["ReturnUrl"] = returnUrl,
        });
        return await client.PostAsync(new Uri("/account/login", UriKind.Relative), form);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsDatabase)
        {
            await _db.DisposeAsync();
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*?value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
