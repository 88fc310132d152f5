using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Datasets;
using BRun.Diagnostics.Web.Datasets;
using Bunit;
using Dapper;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BRun.Diagnostics.Web.Tests.Datasets;

[Collection(IntegrationEnvironment.Collection)]
public sealed class DatasetsPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private DashboardScanRunner? _runner;

    private static string Line(string assistant) =>
        $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Help me budget.\"}}, {{\"role\": \"assistant\", \"content\": \"{assistant}\"}}]}}";

    /// <summary>Rendered text with its markup line breaks and indents folded into single spaces.</summary>
    private static string Text(string rendered) => System.Text.RegularExpressions.Regex.Replace(rendered, @"\s+", " ");

    private async Task SignInAsync(AppUser user)
    {
        RegisterSignedInUser(user);
        _runner = new DashboardScanRunner(Db.Get<QuarantineScanner>(), Hub, NullLogger<DashboardScanRunner>.Instance);
        await _runner.StartAsync(CancellationToken.None);
        Services.AddSingleton(_runner);
        Services.AddSingleton(Db.Get<DatasetReader>());
        Services.AddSingleton(Db.Get<DatasetImporter>());
        Services.AddSingleton(Db.Get<QuarantineScanner>());
        Services.AddSingleton(Db.Get<TrainingExporter>());
        Services.AddScoped<DatasetDashboardService>();
    }

    protected override async Task DisposeContextAsync()
    {
        if (_runner is not null)
        {
            await _runner.StopAsync(CancellationToken.None);
            _runner.Dispose();
        }

        await base.DisposeContextAsync();
    }

    /// <summary>A dataset stored as an old pipeline would have: one good row and one with its answer cut mid-word.</summary>
    private async Task<Guid> SeedAsync(Guid owner, string name)
    {
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        var datasetId = await connection.ExecuteScalarAsync<Guid>("INSERT INTO datasets (name, created_by) VALUES (@name, @owner) RETURNING id", new { name, owner });
        foreach (var assistant in new[] { "Let's take it one step at a time.", "You mentioned feeling overwhelmed, so let's togeth" })
        {
            var turns = TrainingRecord.WriteTurns([new(ConversationRole.User, "Help."), new(ConversationRole.Assistant, assistant)]);
            await connection.ExecuteAsync(
                "INSERT INTO conversations (model, turns, dataset_id, source, created_by) VALUES ('m', @turns::jsonb, @datasetId, 'import', @owner)",
                new { turns, datasetId, owner });
        }

        return datasetId;
    }

    [Fact]
    public async Task An_uploaded_file_is_imported_and_the_page_shows_its_counts_and_bad_lines()
    {
        var me = await Db.CreateUserAsync();
        await SignInAsync(me);
        var cut = Render<DatasetsPage>();
        cut.Find(".brun-import-label input").Change("uploaded");

        cut.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(
            string.Join('\n', Line("Start small."), "not json", Line("Let's list what you owe togeth"), Line("Good.")), "chats.jsonl"));

        cut.WaitForAssertion(() => Assert.Contains(
            "4 records, 2 imported, 1 rejected by the validator (failed generations), 1 bad lines",
            Text(cut.Find(".brun-import-summary").TextContent), StringComparison.Ordinal), RenderWait);
        Assert.StartsWith("bad line chats.jsonl:2:", cut.Find(".brun-import-error").TextContent.Trim(), StringComparison.Ordinal);
        Assert.Equal("2", cut.Find(".brun-dataset-row .brun-dataset-rows").TextContent.Trim());
    }

    [Fact]
    public async Task Scan_progress_shows_the_rate_and_time_left_from_the_scans_checkpoint_row()
    {
        var me = await Db.CreateUserAsync();
        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO scans (id, scope, dry_run, validator_version, total, scanned, flagged, quarantined, created_by, started_at, updated_at)
                VALUES (@id, 'all', false, 'v', 10000, 4000, 30, 30, @owner, '2026-03-01T12:00:00Z', '2026-03-01T12:00:10Z')
                """,
                new { id = Guid.CreateVersion7(), owner = me.Id });
        }

        await SignInAsync(me);

        var cut = Render<DatasetsPage>();

        cut.WaitForAssertion(() => Assert.Equal("400/s", cut.Find(".brun-scan-rate").TextContent.Trim()), RenderWait);
        Assert.Equal("15 s", cut.Find(".brun-scan-eta").TextContent.Trim());
        Assert.Equal("30", cut.Find(".brun-scan-moved").TextContent.Trim());
    }

    [Fact]
    public async Task A_scan_run_by_another_process_shows_live_from_its_announced_batches()
    {
        var me = await Db.CreateUserAsync();
        await SeedAsync(me.Id, "old");
        await SignInAsync(me);
        var scanner = Db.Get<QuarantineScanner>();
        var scanId = await scanner.StartAsync(me.Id, ScanScope.All, dryRun: false, CancellationToken.None);
        var cut = Render<DatasetsPage>();
        cut.WaitForAssertion(() => Assert.Equal("running", cut.Find(".brun-scan-status").TextContent.Trim()), RenderWait);

        // As `brun scan` would, outside this host; its NOTIFYs reach the page through the hub (here published by hand,
        // in production by the run-event listener).
        await scanner.RunAsync(me.Id, scanId, progress: null, CancellationToken.None);
        Hub.Publish(Infrastructure.Pipeline.RunEvent.ForScan(Infrastructure.Pipeline.RunEvent.ScanCompleted, scanId));

        cut.WaitForAssertion(() => Assert.Equal("completed", cut.Find(".brun-scan-status").TextContent.Trim()), RenderWait);
        Assert.Equal("quarantined", cut.Find(".brun-finding-row").GetAttribute("data-action"));
    }

    [Fact]
    public async Task A_real_scan_started_on_the_page_shows_the_cut_row_as_quarantined_with_its_reason()
    {
        var me = await Db.CreateUserAsync();
        await SeedAsync(me.Id, "old");
        await SignInAsync(me);
        var cut = Render<DatasetsPage>();
        cut.Find(".brun-scan-dry-run input").Change(false);

        await StableClick.ClickAsync(cut, ".brun-scan-start");

        cut.WaitForAssertion(() => Assert.Equal("completed", cut.Find(".brun-scan-status").TextContent.Trim()), RenderWait);
        var row = cut.Find(".brun-finding-row");
        Assert.Equal("quarantined", row.GetAttribute("data-action"));
        Assert.Contains("mid_word", row.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_needs_a_reason_and_then_records_who_and_why()
    {
        var me = await Db.CreateUserAsync();
        var datasetId = await SeedAsync(me.Id, "old");
        var scanner = Db.Get<QuarantineScanner>();
        var scanId = await scanner.StartAsync(me.Id, ScanScope.Dataset(datasetId), dryRun: false, CancellationToken.None);
        await scanner.RunAsync(me.Id, scanId, null, CancellationToken.None);
        await SignInAsync(me);
        var cut = Render<DatasetsPage>();
        cut.WaitForAssertion(() => cut.Find(".brun-release").Click(), RenderWait);

        var confirmDisabledWithoutReason = cut.Find("button.brun-release-confirm").HasAttribute("disabled");
        cut.Find(".brun-release-reason textarea").Input("A quoted fragment; complete as written.");
        await StableClick.ClickAsync(cut, "button.brun-release-confirm");

        Assert.True(confirmDisabledWithoutReason);
        cut.WaitForAssertion(() => Assert.Contains(
            "A quoted fragment; complete as written.", cut.Find(".brun-finding-released").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.Contains(me.Email, cut.Find(".brun-finding-released").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_refuses_a_release_without_a_reason()
    {
        var me = await Db.CreateUserAsync();
        await SignInAsync(me);
        var service = Services.GetRequiredService<DatasetDashboardService>();

        var outcome = await service.ReleaseAsync(Guid.NewGuid(), "   ", CancellationToken.None);

        Assert.Equal((false, "A reason is required: say why this conversation is fine as it is."), (outcome.Released, outcome.Problem));
    }

    [Fact]
    public async Task Each_dataset_has_an_export_link_to_the_training_export_with_the_chosen_format()
    {
        var me = await Db.CreateUserAsync();
        var datasetId = await SeedAsync(me.Id, "old");
        await SignInAsync(me);

        var cut = Render<DatasetsPage>();

        cut.WaitForAssertion(() => Assert.Equal(
            $"/api/export/training?format=openai&dataset={datasetId}", cut.Find("a.brun-export-link").GetAttribute("href")), RenderWait);
    }

    [Fact]
    public async Task The_manifest_button_shows_what_the_export_would_leave_out_and_why()
    {
        var me = await Db.CreateUserAsync();
        await SeedAsync(me.Id, "old");
        await SignInAsync(me);
        var cut = Render<DatasetsPage>();

        cut.WaitForAssertion(() => cut.Find(".brun-export-manifest").Click(), RenderWait);

        cut.WaitForAssertion(() => Assert.Contains("1 written of 2 considered, 1 left out", Text(cut.Find(".brun-manifest").TextContent), StringComparison.Ordinal), RenderWait);
    }
}
