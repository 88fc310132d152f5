using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// A <see cref="BrowserHost"/> with headless Chromium in front of it, started and disposed together, and signed-in
/// pages. A missing browser fails at start, with a message saying how to provide one.
/// </summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private BrowserSession(BrowserHost host, IPlaywright playwright, IBrowser browser)
    {
        Host = host;
        _playwright = playwright;
        _browser = browser;
    }

    public BrowserHost Host { get; }

    public static async Task<BrowserSession> StartAsync(IntegrationEnvironment env, IReadOnlyDictionary<string, string?> settings)
    {
        var chromium = HeadlessChromium.FindExecutable();
        var host = await BrowserHost.StartAsync(env, settings);
        var playwright = await Playwright.CreateAsync();
        return new BrowserSession(host, playwright, await HeadlessChromium.LaunchAsync(playwright, chromium));
    }

    /// <summary>
    /// Signs <paramref name="user"/> in and lands on <paramref name="path"/>. Waits for the URL only (committed), not
    /// for the load event; callers wait for the element that says their page is interactive.
    /// </summary>
    public async Task<IPage> SignInAsync(AppUser user, string path, float timeoutMs)
    {
        ArgumentNullException.ThrowIfNull(user);
        var context = await _browser.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(timeoutMs);
        await page.GotoAsync("/account/login?returnUrl=" + Uri.EscapeDataString(path), new() { WaitUntil = WaitUntilState.Commit });
        await page.FillAsync("input[name=Email]", user.Email);
        await page.FillAsync("input[name=Password]", BrowserHost.Password);
        await page.ClickAsync("button[type=submit]");
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await Host.DisposeAsync();
    }
}
