using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Tests.Failures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// The failed-generations page in headless Chromium (the system /usr/bin/chromium; `./brun.sh test` installs it):
/// sign-in, filters, the report dialog by keyboard, RAW download, a live arrival, screenshots.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed partial class DashboardBrowserTests(IntegrationEnvironment env) : IAsyncLifetime
{
    // Bounds each wait on a shared 2-core machine; nothing asserts speed.
    private const float WaitMs = 30_000;

    private BrowserHost? _host;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    private BrowserHost Host => _host!;

    public async Task InitializeAsync()
    {
        // Before anything starts: a missing browser fails here, with a message saying how to provide one.
        var chromium = HeadlessChromium.FindExecutable();
        _host = await BrowserHost.StartAsync(env, new Dictionary<string, string?> { ["Telemetry:PrometheusEnabled"] = "true" });
        _playwright = await Playwright.CreateAsync();
        _browser = await HeadlessChromium.LaunchAsync(_playwright, chromium);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private FailedGenerationStore Store => Host.Services.GetRequiredService<FailedGenerationStore>();

    private async Task<IPage> SignInAsync(
        AppUser user, string path = "/conversations/failed", int width = 1366, int height = 768, IBrowserContext? context = null,
        string interactive = ".brun-failures-page[data-interactive='true']")
    {
        context ??= await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = width, Height = height }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        // Commit: the fields are awaited by FillAsync; the load event is nothing these tests need (see the pending-load test).
        await page.GotoAsync("/account/login?returnUrl=" + Uri.EscapeDataString(path), new() { WaitUntil = WaitUntilState.Commit });
        await page.FillAsync("input[name=Email]", user.Email);
        await page.FillAsync("input[name=Password]", BrowserHost.Password);
        await page.ClickAsync("button[type=submit]");
        // The URL, then the interactive circuit: never the load event, which nothing here needs and which a loaded
        // machine can hold back. (WaitForURLAsync waits for the load event whenever the URL already matches, even
        // with WaitUntil = Commit, so it is not used.)
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(path) + "$"));
        await WaitForCircuitAsync(page, interactive);
        return page;
    }

    /// <summary>Right after prerender a click can be lost: wait for Blazor and for the page's first interactive render.</summary>
    private static async Task WaitForCircuitAsync(IPage page, string interactive = ".brun-failures-page[data-interactive='true']")
    {
        await page.WaitForFunctionAsync("() => window.Blazor !== undefined");
        await page.Locator(interactive).WaitForAsync();
    }

    [GeneratedRegex(@"/conversations/failed\?failure_type=truncation$")]
    private static partial Regex TruncationFilterUrl();

    internal static string ScreenshotDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BRun.Diagnostics.sln")))
        {
            dir = dir.Parent;
        }

        var path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(path);
        return path;
    }

    [Fact]
    public async Task Filter_then_open_and_close_the_report_with_the_keyboard()
    {
        var user = await Host.CreateUserAsync();
        await Store.StoreAsync(user.Id, FailureSeed.ApiError());
        await Store.StoreAsync(user.Id, FailureSeed.Truncation());
        var page = await SignInAsync(user);
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(2);
        // Sign-in ends with a full page load: the circuit's first rows are the ones the prerender read and persisted.
        await Assertions.Expect(page.Locator(".brun-failures-page")).ToHaveAttributeAsync("data-first-load", "prerendered");

        await page.ClickAsync(".brun-filter-chip[data-dimension='failure_type'][data-value='truncation']");
        // The chip navigates in the same document (Blazor's router, history.pushState). WaitForURLAsync would also
        // wait for the document's load event, which sign-in does not wait for and which can still be pending here.
        await Assertions.Expect(page).ToHaveURLAsync(TruncationFilterUrl());
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(1);

        var view = page.Locator("tr.brun-failure-row button.brun-view").First;
        await view.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator(".brun-report-conclusion")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".brun-preview")).ToContainTextAsync("I want to save for \\");

        // The dialog takes the focus after it renders; an Escape pressed before that goes to the page behind it.
        await page.WaitForFunctionAsync("() => { const a = document.activeElement; return !!a && (a.closest('.brun-report-dialog') !== null || a.querySelector('.brun-report-dialog') !== null); }");
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.Locator(".brun-report-dialog")).ToHaveCountAsync(0);
        await page.WaitForFunctionAsync("() => document.activeElement && document.activeElement.classList.contains('brun-view')");
    }

    /// <summary>
    /// A first page of long failures still gets its circuit. The prerender's rows are persisted into the page and sent
    /// back in the circuit's start message; with real texts (a proxy's HTML error page as the message, a stream cut's
    /// long details) that message passed SignalR's 32 KB default, the server closed the connection, and the page
    /// looked loaded but nothing on it worked.
    /// </summary>
    [Fact]
    public async Task A_first_page_of_long_failures_becomes_interactive()
    {
        var user = await Host.CreateUserAsync();
        var html = "<html><body>" + string.Concat(Enumerable.Repeat("<p>upstream connect error or disconnect/reset before headers</p>", 40)) + "</body></html>";
        for (var i = 0; i < 25; i++)
        {
            var input = i % 2 == 0
                ? FailureSeed.ApiError("The response body is not JSON: " + html)
                : FailureSeed.Truncation() with { TruncationDetails = "The content JSON is cut inside a string. " + new string('x', 1500) + " #" + i };
            await Store.StoreAsync(user.Id, input);
        }

        var page = await SignInAsync(user);
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(25);
        await page.Locator("tr.brun-failure-row button.brun-view").First.ClickAsync();
        await Assertions.Expect(page.Locator(".brun-report-conclusion")).ToBeVisibleAsync();
    }

    /// <summary>
    /// The longest template body the design page accepts reaches the server. A field's value travels in one circuit
    /// message, twice: 100,000 euro signs are 600 KB of UTF-8, far past SignalR's default 32 KB, which closed the
    /// circuit and left the editor on screen, dead.
    /// </summary>
    [Fact]
    public async Task A_template_body_of_the_longest_allowed_length_is_saved()
    {
        var user = await Host.CreateUserAsync();
        var body = "Plan for {{persona_name}}: " + new string('€', BRun.Diagnostics.Core.Design.TemplatePlaceholders.MaxBodyLength - 27);
        Assert.Equal(BRun.Diagnostics.Core.Design.TemplatePlaceholders.MaxBodyLength, body.Length);
        var page = await SignInAsync(user, "/design", interactive: ".brun-design-header[data-interactive='true']");

        await page.ClickAsync(".brun-new-template");
        await page.FillAsync(".brun-template-name input", "longest-body");
        // A longer paste is cut by the browser rather than sent.
        await Assertions.Expect(page.Locator(".brun-template-body textarea")).ToHaveAttributeAsync("maxlength", "100000");
        await page.FillAsync(".brun-template-body textarea", body);
        await page.ClickAsync(".brun-template-save");

        await Assertions.Expect(page.Locator(".brun-template-editor")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator(".brun-templates")).ToContainTextAsync("longest-body");
        var saved = await Host.Services.GetRequiredService<BRun.Diagnostics.Infrastructure.Design.DesignStore>()
            .FindTemplateAsync(BRun.Diagnostics.Infrastructure.Database.DbIdentity.User(user.Id), "longest-body", false, CancellationToken.None);
        Assert.Equal(body, saved?.Body);
    }

    /// <summary>
    /// A connection closed by an error is logged as a warning (SignalR says so only at Debug): here a message over the
    /// circuit's 1 MB limit, sent through Blazor's own JS interop.
    /// </summary>
    [Fact]
    public async Task A_circuit_closed_by_an_oversized_message_is_logged()
    {
        var user = await Host.CreateUserAsync();
        var page = await SignInAsync(user);

        await page.EvaluateAsync("() => { DotNet.invokeMethodAsync('BRun.Diagnostics.Web', 'NoSuchMethod', 'x'.repeat(2 * 1024 * 1024)).catch(() => {}); }");

        var waited = Stopwatch.StartNew();
        while (!Host.Warnings.Any(l => l.Contains("closed by an error (InvalidDataException)", StringComparison.Ordinal)) && waited.ElapsedMilliseconds < WaitMs)
        {
            await Task.Delay(50);
        }

        Assert.Contains(Host.Warnings, l => l.StartsWith(typeof(BRun.Diagnostics.Web.Components.CircuitErrorLogFilter).FullName + ": A dashboard connection was closed by an error (InvalidDataException)", StringComparison.Ordinal));
    }

    /// <summary>
    /// The race behind the flaky filter test, made deterministic: the document's load event is held back (one script
    /// is answered only at the end), as a loaded machine can do. The filter's same-document navigation must still be
    /// seen; a wait that also needs the load event would time out here.
    /// </summary>
    [Fact]
    public async Task A_filter_navigation_is_seen_while_the_documents_load_event_is_still_pending()
    {
        var user = await Host.CreateUserAsync();
        await Store.StoreAsync(user.Id, FailureSeed.ApiError());
        await Store.StoreAsync(user.Id, FailureSeed.Truncation());
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 768 } });
        // The failures page gets an image that is answered only at the end: parsing, scripts and the circuit go on,
        // but the load event waits for the image, as it waits for any slow resource on a loaded machine.
        await context.AddInitScriptAsync("""
            if (location.pathname.startsWith('/conversations/failed'))
              document.addEventListener('DOMContentLoaded', () => { const i = new Image(); i.src = '/held-back.png'; document.body.appendChild(i); });
            """);
        // The handler returns at once (Playwright delivers a client's events one at a time, so a handler that waited
        // would hold every later event back); the request is answered when the test ends.
        var heldBack = new List<Task>();
        await context.RouteAsync("**/held-back.png", route =>
        {
            heldBack.Add(release.Task.ContinueWith(_ => route.FulfillAsync(new() { Status = 404 }), TaskScheduler.Default).Unwrap());
            return Task.CompletedTask;
        });
        try
        {
            var page = await SignInAsync(user, context: context);
            Assert.False(await page.EvaluateAsync<bool>("() => document.readyState === 'complete'"), "The load event was meant to be pending.");
            await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(2);

            await page.ClickAsync(".brun-filter-chip[data-dimension='failure_type'][data-value='truncation']");

            await Assertions.Expect(page).ToHaveURLAsync(TruncationFilterUrl());
            await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(1);
        }
        finally
        {
            release.SetResult();
            await Task.WhenAll(heldBack);
            await context.DisposeAsync();
        }
    }

    [Fact]
    public async Task Raw_download_is_valid_json_named_after_the_failure()
    {
        var user = await Host.CreateUserAsync();
        var id = await Store.StoreAsync(user.Id, FailureSeed.Truncation());
        var page = await SignInAsync(user);

        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("tr.brun-failure-row a.brun-raw").First.ClickAsync());

        Assert.Equal($"failed-generation-{id}.json", download.SuggestedFilename);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync((await download.PathAsync())!));
        Assert.Equal(id.ToString(), report.RootElement.GetProperty("diagnostics").GetProperty("failure_id").GetString());
    }

    [Fact]
    public async Task A_stored_failure_appears_live_and_screenshots_are_taken()
    {
        var user = await Host.CreateUserAsync();
        for (var i = 0; i < 6; i++)
        {
            await Store.StoreAsync(user.Id, i % 3 == 0 ? FailureSeed.ApiError() : FailureSeed.Truncation(outputTokens: 950 + (i * 20)));
        }

        var page = await SignInAsync(user);
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(6);

        // Stored and announced the way the worker does it: the row, then a task_failed NOTIFY with its id.
        var clock = Stopwatch.StartNew();
        var id = await Store.StoreAsync(user.Id, FailureSeed.Truncation(outputTokens: 1001));
        await using (var connection = await Host.Db.DataSource.OpenConnectionAsync())
        {
            await RunEvents.PublishAsync(connection, null, new RunEvent(RunEvent.TaskFailed, Guid.NewGuid(), Guid.NewGuid(), id), CancellationToken.None);
        }

        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(7);
        await Assertions.Expect(page.Locator("tr.brun-failure-row-new")).ToHaveCountAsync(1);
        clock.Stop();
        var dir = ScreenshotDirectory();
        await File.WriteAllTextAsync(Path.Combine(dir, "live-latency-ms.txt"), clock.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture));

        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "failed-generations-1366x768.png"), FullPage = false });
        await page.SetViewportSizeAsync(1920, 1080);
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "failed-generations-1920x1080.png"), FullPage = false });
        await page.Locator("tr.brun-failure-row button.brun-view").First.ClickAsync();
        await Assertions.Expect(page.Locator(".brun-report-conclusion")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "report-dialog-1920x1080.png"), FullPage = false });
        await page.Keyboard.PressAsync("Escape");
        await page.GotoAsync("/conversations/failed/insights", new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(page.Locator(".brun-chart-histogram")).ToBeVisibleAsync();
        // A full load: the circuit's first charts are the ones the prerender read and persisted (no progress bar between).
        await Assertions.Expect(page.Locator(".brun-insights-charts")).ToHaveAttributeAsync("data-first-load", "prerendered");
        await Assertions.Expect(page.Locator(".brun-histogram-peak")).ToContainTextAsync("1,000–1,099 tokens (3 failures)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "insights-1920x1080.png"), FullPage = true });
        Assert.True(File.Exists(Path.Combine(dir, "failed-generations-1366x768.png")));
    }
}
