using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Tests.Runs;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// The downloaded HTML run report opened in headless Chromium from a file, as the person it was sent to would open it:
/// it must render with no request and no error, keep hostile text inert, and say what the run page says.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RunReportBrowserTests(IntegrationEnvironment env) : IAsyncLifetime
{
    // Bounds each wait on a shared 2-core machine; nothing asserts speed.
    private const float WaitMs = 30_000;

    private BrowserHost? _host;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private AppUser _owner = default!;
    private Guid _run;
    private IPage _dashboard = default!;

    private BrowserHost Host => _host!;

    public async Task InitializeAsync()
    {
        // Before anything starts: a missing browser fails here, with a message saying how to provide one.
        var chromium = HeadlessChromium.FindExecutable();
        // No worker: the seeded run must keep exactly the outcomes the seed gives it.
        _host = await BrowserHost.StartAsync(env, new Dictionary<string, string?> { ["Worker:Enabled"] = "false" });
        _playwright = await Playwright.CreateAsync();
        _browser = await HeadlessChromium.LaunchAsync(_playwright, chromium);
        _owner = await Host.CreateUserAsync();
        _run = await RunReportSeed.SeedFinishedRunAsync(Host.Services, Host.Db.DataSource, _owner.Id);
        _dashboard = await SignInAsync($"/runs/{_run}");
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

    private async Task<IPage> SignInAsync(string path)
    {
        var context = await _browser!.NewContextAsync(new() { BaseURL = Host.BaseAddress.ToString(), ViewportSize = new() { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        await page.GotoAsync("/account/login?returnUrl=" + Uri.EscapeDataString(path));
        await page.FillAsync("input[name=Email]", _owner.Email);
        await page.FillAsync("input[name=Password]", BrowserHost.Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync("**" + path, new() { WaitUntil = WaitUntilState.Commit });
        await page.Locator(".brun-count-succeeded").WaitForAsync();
        return page;
    }

    /// <summary>Downloads the report with the signed-in session, as the run page's button does, and saves it as a file.</summary>
    private async Task<string> DownloadReportAsync()
    {
        var response = await _dashboard.Context.APIRequest.GetAsync($"/api/runs/{_run}/report?format=html");
        Assert.True(response.Ok, $"The report answered {response.Status}.");
        var path = Path.Combine(Path.GetTempPath(), $"run-report-{_run}.html");
        await File.WriteAllBytesAsync(path, await response.BodyAsync());
        return path;
    }

    /// <summary>Opens the file in a fresh context (no cookies, no base URL) and records every request, console error and dialog.</summary>
    private async Task<(IPage Page, List<string> Requests, List<string> Errors)> OpenReportFileAsync(string path)
    {
        var context = await _browser!.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        var requests = new List<string>();
        var errors = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                errors.Add($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add("page error: " + error);
        page.Dialog += (_, dialog) => errors.Add("dialog: " + dialog.Message);
        await page.GotoAsync(new Uri(path).AbsoluteUri, new() { WaitUntil = WaitUntilState.NetworkIdle });
        return (page, requests, errors);
    }

    [Fact]
    public async Task Html_report_renders_from_a_file_with_no_request_no_error_and_inert_hostile_text()
    {
        var path = await DownloadReportAsync();

        var (page, requests, errors) = await OpenReportFileAsync(path);

        Assert.Equal([new Uri(path).AbsoluteUri], requests);
        Assert.Empty(errors);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.scripts.length"));
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned ?? null"));
        await Assertions.Expect(page.Locator("pre.excerpt").First).ToContainTextAsync("<script>window.__pwned = 1;");
        await Assertions.Expect(page.Locator("#output-tokens svg")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory(), "run-report.png"), FullPage = true });
    }

    [Fact]
    public async Task Html_report_shows_the_run_pages_counts()
    {
        var (report, _, _) = await OpenReportFileAsync(await DownloadReportAsync());

        foreach (var (runPage, reportKey) in new[] { ("succeeded", "succeeded"), ("failed", "failed"), ("pending", "pending") })
        {
            Assert.Equal(
                (runPage, await _dashboard.Locator($".brun-count-{runPage}").InnerTextAsync()),
                (runPage, await report.Locator($"[data-count='{reportKey}']").InnerTextAsync()));
        }
    }

    [Fact]
    public async Task Html_report_shows_the_run_pages_failure_breakdown()
    {
        var (report, _, _) = await OpenReportFileAsync(await DownloadReportAsync());

        var reportRows = (await report.Locator("#failure-rates table[data-breakdown] tbody tr[data-key]")
            .EvaluateAllAsync<string[][]>("rows => rows.map(r => [r.dataset.key, r.querySelector('[data-count]').innerText.trim()])"))
            .Select(r => $"{r[0]}={r[1]}").ToList();

        // The run page's three breakdown tables, in order: failure type, stop reason, truncation pattern. They load after
        // the counts the sign-in waited for, and a live reload re-renders them, so one read can land between two
        // renders (no rows): read until the rows are there, within a bound, then compare.
        var rows = _dashboard.Locator(".brun-failure-breakdown .brun-breakdown-table tbody tr");
        List<string> runPageRows = [];
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(30);
        do
        {
            await rows.First.WaitForAsync();
            runPageRows = (await rows.EvaluateAllAsync<string[][]>("rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.innerText.trim()))"))
                .Select(r => $"{r[0]}={r[1]}").ToList();
        }
        while (runPageRows.Count < reportRows.Count && TimeProvider.System.GetUtcNow() < deadline);

        Assert.Equal(reportRows, runPageRows);
    }

    private static string ScreenshotDirectory()
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
}
