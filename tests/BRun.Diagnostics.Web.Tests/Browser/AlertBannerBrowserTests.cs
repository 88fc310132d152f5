using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// The alert banner and pause/resume in headless Chromium (no worker, so the run's state changes only by what is
/// clicked): a failure-rate rule pauses a run, the banner's Resume restarts it, and the run page pauses and resumes it.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class AlertBannerBrowserTests(IntegrationEnvironment env) : IAsyncLifetime
{
    private const float WaitMs = 60_000;

    private BrowserSession? _session;

    private BrowserHost Host => _session!.Host;

    public async Task InitializeAsync()
    {
        _session = await BrowserSession.StartAsync(env, new Dictionary<string, string?> { ["Worker:Enabled"] = "false" });
    }

    public async Task DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_paused_run_shows_in_the_banner_resume_restarts_it_and_the_run_page_pauses_and_resumes_it()
    {
        var user = await Host.CreateUserAsync();
        var connections = Host.Services.GetRequiredService<IUserScopedConnectionFactory>();
        var runId = await Host.Services.GetRequiredService<RunStore>()
            .CreateAsync(user.Id, new CreateRunRequest(5, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        await new RunAlertStore(connections).UpdateRulesAsync(
            DbIdentity.User(user.Id), runId, new RunAlertRules { MinTasks = 1 }, CancellationToken.None);
        await using (var c = await Host.Db.DataSource.OpenConnectionAsync())
        {
            // One failed task of one: the failure-rate rule (above 50 % after 1 task) fires and pauses the run.
            await c.ExecuteAsync("UPDATE generation_runs SET failed = failed + 1 WHERE id = @runId", new { runId });
        }

        var page = await _session!.SignInAsync(user, $"/runs/{runId:D}", WaitMs);

        var banner = page.Locator($".brun-alert-banner[data-interactive='true'] .brun-run-alert[data-run-id='{runId:D}']");
        await Assertions.Expect(banner).ToContainTextAsync("The run is paused", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-run-header[data-interactive='true'] .brun-run-status")).ToHaveTextAsync("paused", new() { Timeout = WaitMs });

        await banner.Locator(".brun-alert-resume").ClickAsync();
        await Assertions.Expect(page.Locator(".brun-run-header .brun-run-status")).ToHaveTextAsync("running", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-alert-resume")).ToHaveCountAsync(0, new() { Timeout = WaitMs });

        await page.ClickAsync(".brun-pause-run");
        await Assertions.Expect(page.Locator(".brun-run-header .brun-run-status")).ToHaveTextAsync("paused", new() { Timeout = WaitMs });

        // The snackbar says so in the bottom-left corner, clear of the run's action buttons at the top right.
        var snackbar = page.Locator(".mud-snackbar", new() { HasText = "Run paused" });
        await Assertions.Expect(snackbar).ToBeVisibleAsync(new() { Timeout = WaitMs });
        var box = (await snackbar.BoundingBoxAsync())!;
        var resume = (await page.Locator(".brun-resume-run").BoundingBoxAsync())!;
        var viewport = page.ViewportSize!;
        var overlaps = box.X < resume.X + resume.Width && resume.X < box.X + box.Width && box.Y < resume.Y + resume.Height && resume.Y < box.Y + box.Height;
        Assert.True(
            box.X + box.Width < viewport.Width / 2.0 && box.Y > viewport.Height / 2.0 && !overlaps,
            $"snackbar at ({box.X}, {box.Y}) {box.Width}×{box.Height}, Resume at ({resume.X}, {resume.Y}), viewport {viewport.Width}×{viewport.Height}");

        await page.ClickAsync(".brun-resume-run");
        await Assertions.Expect(page.Locator(".brun-run-header .brun-run-status")).ToHaveTextAsync("running", new() { Timeout = WaitMs });
    }
}
