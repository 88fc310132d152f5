using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// Acting on failures in headless Chromium, with the worker and the demo simulator in the host: filter, re-run all
/// matching with a new max_tokens, confirm, watch the new run finish, and compare it with its source.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed partial class RerunBrowserTests(IntegrationEnvironment env) : IAsyncLifetime
{
    // Bounds each wait on a shared 2-core machine; nothing asserts speed.
    private const float WaitMs = 60_000;

    private BrowserSession? _session;

    private BrowserHost Host => _session!.Host;

    public async Task InitializeAsync()
    {
        // The simulator answers every prompt with a max_tokens cut, so the source run fails whole and deterministically
        // (its re-run, with the same prompts, too: what is tested is that it runs, not that the fix works).
        _session = await BrowserSession.StartAsync(env, new Dictionary<string, string?>
        {
            ["Demo:Enabled"] = "true",
            ["Demo:OrganizationLimits"] = "false",
            ["Simulator:CompleteRate"] = "0",
            ["Simulator:MaxTokensRate"] = "1",
            ["Simulator:EndTurnCutRate"] = "0",
            ["Simulator:StreamCutRate"] = "0",
            ["Simulator:RefusalRate"] = "0",
            ["Simulator:RateLimitedRate"] = "0",
            ["Simulator:OverloadedRate"] = "0",
        });
    }

    public async Task DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }
    }

    private async Task<IPage> SignInAsync(AppUser user, string path, string readySelector)
    {
        var page = await _session!.SignInAsync(user, path, WaitMs);
        await page.Locator(readySelector).WaitForAsync();
        return page;
    }

    [GeneratedRegex(@"/runs/([0-9a-f\-]{36})$")]
    private static partial Regex RunUrl();

    [GeneratedRegex(@"/runs/compare\?a=[0-9a-f\-]{36}&b=[0-9a-f\-]{36}$")]
    private static partial Regex CompareUrl();

    [Fact]
    public async Task Filter_rerun_all_matching_confirm_then_the_new_run_runs_and_the_compare_page_shows_both()
    {
        var user = await Host.CreateUserAsync();
        var source = await Host.Services.GetRequiredService<RunStore>()
            .CreateAsync(user.Id, new CreateRunRequest(3, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        var page = await SignInAsync(user, $"/conversations/failed?run_id={source:D}", ".brun-failures-page[data-interactive='true']");
        // The worker answers the three tasks through the simulator; the grid shows them as they arrive.
        await Assertions.Expect(page.Locator("tr.brun-failure-row")).ToHaveCountAsync(3, new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-rerun-all")).ToContainTextAsync("Re-run all 3 matching", new() { Timeout = WaitMs });

        await page.ClickAsync(".brun-rerun-all");
        await Assertions.Expect(page.Locator(".brun-rerun-count")).ToHaveTextAsync("3", new() { Timeout = WaitMs });
        await page.Locator(".brun-rerun-max-tokens input").FillAsync("8192");
        await Assertions.Expect(page.Locator(".brun-rerun-summary")).ToContainTextAsync("max_tokens 8,192", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-rerun-confirm")).ToBeEnabledAsync(new() { Timeout = WaitMs });
        await page.ClickAsync(".brun-rerun-confirm");

        await Assertions.Expect(page).ToHaveURLAsync(RunUrl(), new() { Timeout = WaitMs });
        var rerun = Guid.Parse(RunUrl().Match(page.Url).Groups[1].Value);
        Assert.NotEqual(source, rerun);
        await Assertions.Expect(page.Locator(".brun-rerun-source")).ToHaveAttributeAsync("href", $"/runs/{source:D}", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-run-status").First).ToHaveTextAsync("completed", new() { Timeout = WaitMs });

        await page.ClickAsync(".brun-compare-with-source");
        await Assertions.Expect(page).ToHaveURLAsync(CompareUrl(), new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-compare-rerun")).ToBeVisibleAsync(new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-compare-a .brun-compare-failure-rate")).ToHaveTextAsync("100.0 %", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-compare-b .brun-compare-failure-rate")).ToHaveTextAsync("100.0 %", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-compare-b")).ToContainTextAsync("max_tokens 8,192", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-compare-histogram svg")).ToHaveCountAsync(1, new() { Timeout = WaitMs });
        await page.SetViewportSizeAsync(1366, 1100);
        await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardBrowserTests.ScreenshotDirectory(), "compare-runs-1366.png"), FullPage = true });
    }
}
