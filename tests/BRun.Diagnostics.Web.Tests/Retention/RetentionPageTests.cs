using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Pages.Admin;
using BRun.Diagnostics.Web.Retention;
using BRun.Diagnostics.Web.Tests.Failures;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Tests.Retention;

/// <summary>/admin/retention against a real database: paging through the log, and a dry run for a chosen age.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RetentionPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private RetentionRunner? _runner;

    private void SignInAs(AppUser user, IFailureReportBlobStore? blobs = null)
    {
        var currentUser = RegisterSignedInUser(user);
        var retention = new RetentionService(
            Db.Get<IUserScopedConnectionFactory>(),
            blobs ?? Db.Get<IFailureReportBlobStore>(),
            Options.Create(new RetentionOptions { OlderThanDays = 90 }),
            Options.Create(new ReportUploadOptions()),
            Db.Time,
            NullLogger<RetentionService>.Instance);
        _runner = new RetentionRunner(
            retention, new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance),
            NullLogger<RetentionRunner>.Instance);
        Services.AddScoped(_ => new RetentionLogService(
            currentUser, retention, new AppUserStore(Db.Get<IUserScopedConnectionFactory>()), Options.Create(new RetentionOptions { OlderThanDays = 90 }), _runner));
    }

    private async Task SignInAsAdminWithTwoFailuresTenDaysOldAndOneNewAsync(IFailureReportBlobStore? blobs = null)
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(admin.Id, FailureSeed.Truncation());
        await store.StoreAsync(admin.Id, FailureSeed.ApiError());
        Db.Time.Advance(TimeSpan.FromDays(10));
        await store.StoreAsync(admin.Id, FailureSeed.ApiError());
        SignInAs(admin, blobs);
    }

    /// <summary>The real store, except that a delete waits until the run is stopped: a run held in its first batch.</summary>
    private sealed class DeletesThatWait(IFailureReportBlobStore inner) : IFailureReportBlobStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task UploadAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.UploadAsync(path, content, cancellationToken);

        public Task<byte[]?> DownloadAsync(string path, CancellationToken cancellationToken) => inner.DownloadAsync(path, cancellationToken);

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return await inner.DeleteAsync(path, cancellationToken);
        }
    }

    private async Task<long> CountAsync(string table)
    {
        await using var c = await Db.DataSource.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}");
    }

    private static IRenderedComponent<RetentionPage> Loaded(IRenderedComponent<RetentionPage> cut)
    {
        cut.WaitForAssertion(() => Assert.Equal("true", cut.Find(".brun-retention-page").GetAttribute("data-loaded")), RenderWait);
        return cut;
    }

    [Fact]
    public async Task An_admin_pages_through_the_log_fifty_runs_at_a_time()
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        await using (var c = await Db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("""
                INSERT INTO retention_runs (id, triggered_by, started_at, finished_at, status, dry_run, older_than_days, cutoff)
                SELECT gen_random_uuid(), 'cli:ana', timestamptz '2026-11-01T03:00:00Z' + g * interval '1 hour', timestamptz '2026-11-01T03:00:01Z' + g * interval '1 hour',
                       'completed', false, 30, timestamptz '2026-10-01T03:00:00Z'
                FROM generate_series(1, 55) AS g
                """);
        }

        SignInAs(admin);
        var cut = Loaded(Render<RetentionPage>());
        var first = (cut.FindAll(".brun-retention-row").Count, cut.Find(".brun-retention-count").TextContent.Trim(), cut.Find(".brun-retention-newer").HasAttribute("disabled"));

        await StableClick.ClickAsync(cut, ".brun-retention-older");

        cut.WaitForAssertion(() => Assert.Equal(5, cut.FindAll(".brun-retention-row").Count), RenderWait);
        Assert.Equal(
            ((50, "Runs 1–50 of 55, newest first.", true), "Runs 51–55 of 55, newest first.", true, "2026-11-01 08:00 UTC"),
            (first, cut.Find(".brun-retention-count").TextContent.Trim(), cut.Find(".brun-retention-older").HasAttribute("disabled"),
                cut.FindAll(".brun-retention-started")[0].TextContent.Trim()));
    }

    [Fact]
    public async Task A_dry_run_for_a_chosen_age_counts_what_would_go_deletes_nothing_and_is_logged()
    {
        await SignInAsAdminWithTwoFailuresTenDaysOldAndOneNewAsync();
        var cut = Loaded(Render<RetentionPage>());

        cut.Find(".brun-retention-days input").Change("7");
        await StableClick.ClickAsync(cut, ".brun-retention-dry-run-button");

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-retention-row")), RenderWait);
        var message = cut.Find(".brun-retention-dry-run-message").TextContent;
        Assert.Equal(
            (true, true, "dry run", 3L),
            (message.Contains("Dry run for 7 days", StringComparison.Ordinal), message.Contains(": 2 failed generations", StringComparison.Ordinal),
                cut.Find(".brun-retention-dry-run").TextContent.Trim(), await CountAsync("failed_generations")));
    }

    [Fact]
    public async Task After_a_dry_run_a_confirmed_real_run_deletes_what_it_counted_in_the_background_and_the_page_follows_it()
    {
        await SignInAsAdminWithTwoFailuresTenDaysOldAndOneNewAsync();
        var dialogs = Render<MudBlazor.MudDialogProvider>();
        var cut = Loaded(Render<RetentionPage>());
        Assert.Empty(cut.FindAll(".brun-retention-run-button"));

        cut.Find(".brun-retention-days input").Change("7");
        await StableClick.ClickAsync(cut, ".brun-retention-dry-run-button");
        cut.WaitForAssertion(() => Assert.Contains("Delete the 2 older than 7 days now", cut.Find(".brun-retention-run-button").TextContent, StringComparison.Ordinal), RenderWait);

        // Cancelled at the confirmation: nothing starts. (The click's handler waits for the answer, so it is awaited after.)
        var asking = cut.Find(".brun-retention-run-button").ClickAsync(new());
        dialogs.WaitForAssertion(() => Assert.Contains("It cannot be undone", dialogs.Find(".mud-dialog").TextContent, StringComparison.Ordinal), RenderWait);
        await dialogs.InvokeAsync(() => dialogs.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Cancel").Click());
        await asking;
        Assert.Null(_runner!.Current);

        // A minute later (the log is newest first: the real run's row must start after the dry run's).
        Db.Time.Advance(TimeSpan.FromMinutes(1));
        asking = cut.Find(".brun-retention-run-button").ClickAsync(new());
        dialogs.WaitForAssertion(() => Assert.NotEmpty(dialogs.FindAll(".mud-dialog")), RenderWait);
        await dialogs.InvokeAsync(() => dialogs.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Delete").Click());
        await asking;
        Assert.NotNull(_runner!.Current);
        await _runner!.Current!;

        // The page re-reads the log on its own until the run's row is finished.
        cut.WaitForAssertion(() =>
        {
            Db.Time.Advance(RetentionPage.FollowInterval);
            var newest = cut.FindAll(".brun-retention-row")[0];
            Assert.Equal(("completed", "–", "2"), (
                newest.QuerySelector(".brun-retention-status")!.TextContent.Trim(),
                newest.QuerySelector(".brun-retention-dry-run")!.TextContent.Trim(),
                newest.QuerySelector(".brun-retention-deleted")!.TextContent.Trim()));
        }, RenderWait);
        Assert.Equal(1L, await CountAsync("failed_generations"));
        Assert.Contains("started", cut.Find(".brun-retention-run-message").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll(".brun-retention-run-button"));
    }

    [Fact]
    public async Task A_run_started_from_the_page_can_be_stopped_and_its_row_says_cancelled()
    {
        var blobs = new DeletesThatWait(Db.Get<IFailureReportBlobStore>());
        await SignInAsAdminWithTwoFailuresTenDaysOldAndOneNewAsync(blobs);
        var dialogs = Render<MudBlazor.MudDialogProvider>();
        var cut = Loaded(Render<RetentionPage>());
        cut.Find(".brun-retention-days input").Change("7");
        await StableClick.ClickAsync(cut, ".brun-retention-dry-run-button");
        Db.Time.Advance(TimeSpan.FromMinutes(1));
        var asking = cut.WaitForElement(".brun-retention-run-button", RenderWait).ClickAsync(new());
        dialogs.WaitForAssertion(() => Assert.NotEmpty(dialogs.FindAll(".mud-dialog")), RenderWait);
        await dialogs.InvokeAsync(() => dialogs.FindAll(".mud-dialog button").Single(b => b.TextContent.Trim() == "Delete").Click());
        await asking;
        await blobs.Entered.Task.WaitAsync(RenderWait);

        await StableClick.ClickAsync(cut, ".brun-retention-stop-button");
        await _runner!.Current!.WaitAsync(RenderWait);

        cut.WaitForAssertion(() =>
        {
            Db.Time.Advance(RetentionPage.FollowInterval);
            Assert.Equal("cancelled", cut.FindAll(".brun-retention-row")[0].QuerySelector(".brun-retention-status")!.TextContent.Trim());
            Assert.Empty(cut.FindAll(".brun-retention-stop-button"));
        }, RenderWait);
        Assert.Equal(3L, await CountAsync("failed_generations"));
    }

    [Fact]
    public async Task A_dry_run_is_refused_to_an_admin_the_database_no_longer_holds_as_one_and_to_a_bad_age()
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        SignInAs(admin);
        var log = Services.GetRequiredService<RetentionLogService>();

        var badAge = await log.DryRunAsync(0, CancellationToken.None);
        // Demoted after signing in: the cookie's role claim still says admin; the database does not.
        await using (var c = await Db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("UPDATE app_users SET role = 'member' WHERE id = @id", new { id = admin.Id });
        }

        var demoted = await log.DryRunAsync(7, CancellationToken.None);
        var demotedRealRun = await log.StartRunAsync(7, CancellationToken.None);

        Assert.Equal(
            ((RetentionRun?)null, "Give an age of 1 to 36,500 days.", (RetentionRun?)null, "Retention is for admins.", "Retention is for admins.", 0L),
            (badAge.Run, badAge.Error, demoted.Run, demoted.Error, demotedRealRun, await CountAsync("retention_runs")));
        Assert.Null(_runner!.Current);
    }
}
