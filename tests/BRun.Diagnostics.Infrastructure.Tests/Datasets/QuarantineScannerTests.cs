using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Datasets;

[Collection(IntegrationEnvironment.Collection)]
public sealed class QuarantineScannerTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>
    /// Seeds a dataset as an old pipeline would have stored it: rows put straight into conversations, every fifth one
    /// with its last assistant turn cut. Returns the dataset id and the ids of the cut rows.
    /// </summary>
    private static async Task<(Guid DatasetId, HashSet<Guid> Cut)> SeedAsync(TestDatabase db, Guid owner, int count)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var datasetId = await connection.ExecuteScalarAsync<Guid>("INSERT INTO datasets (name, created_by) VALUES ('old', @owner) RETURNING id", new { owner });
        var cut = new HashSet<Guid>();
        for (var i = 0; i < count; i++)
        {
            var isCut = i % 5 == 0;
            var assistant = isCut ? $"Row {i}: you mentioned feeling overwhelmed, so let's togeth" : $"Row {i}: let's take it one step at a time.";
            var turns = TrainingRecord.WriteTurns([new(Core.Conversations.ConversationRole.User, "Help."), new(Core.Conversations.ConversationRole.Assistant, assistant)]);
            var id = await connection.ExecuteScalarAsync<Guid>(
                "INSERT INTO conversations (model, turns, dataset_id, source, created_by) VALUES ('m', @turns::json, @datasetId, 'import', @owner) RETURNING id",
                new { turns, datasetId, owner });
            if (isCut)
            {
                cut.Add(id);
            }
        }

        return (datasetId, cut);
    }

    [Fact]
    public async Task Scan_quarantines_every_cut_conversation_and_keeps_every_good_one()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var (datasetId, cut) = await SeedAsync(db, user.Id, 25);
        var scanner = db.Get<QuarantineScanner>();

        var scanId = await scanner.StartAsync(user.Id, ScanScope.Dataset(datasetId), dryRun: false, None);
        var result = await scanner.RunAsync(user.Id, scanId, null, None, batchSize: 7);

        Assert.Equal((25L, 25L, 5L, 5L, "completed"), (result.Total, result.Scanned, result.Flagged, result.Quarantined, result.Status));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var quarantined = (await connection.QueryAsync<Guid>("SELECT conversation_id FROM failed_generations WHERE source = 'scan' AND scan_id = @scanId", new { scanId })).ToHashSet();
        Assert.Equal(cut, quarantined);
        Assert.Equal(20, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations WHERE id = ANY(@ids)", new { ids = cut.ToArray() }));
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE quarantined_row IS NOT NULL AND truncation_pattern = 'mid_word'"));
    }

    [Fact]
    public async Task A_cut_conversation_holding_an_escaped_NUL_is_quarantined_and_released_byte_for_byte()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        // json keeps "\u0000" as written; jsonb (the quarantined row's copy) refuses it.
        const string Turns = """[{"role":"user","content":"Help.\u0000"},{"role":"assistant","content":"you mentioned feeling overwhelmed, so let's togeth"}]""";
        Guid datasetId, conversationId;
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            datasetId = await connection.ExecuteScalarAsync<Guid>("INSERT INTO datasets (name, created_by) VALUES ('old', @owner) RETURNING id", new { owner = user.Id });
            conversationId = await connection.ExecuteScalarAsync<Guid>(
                "INSERT INTO conversations (model, turns, dataset_id, source, created_by) VALUES ('m', @turns::json, @datasetId, 'import', @owner) RETURNING id",
                new { turns = Turns, datasetId, owner = user.Id });
        }

        var scanner = db.Get<QuarantineScanner>();
        var scanId = await scanner.StartAsync(user.Id, ScanScope.Dataset(datasetId), dryRun: false, None);
        var result = await scanner.RunAsync(user.Id, scanId, null, None, batchSize: 7);

        Assert.Equal((1L, 1L, "completed"), (result.Flagged, result.Quarantined, result.Status));
        await using var check = await db.DataSource.OpenConnectionAsync();
        var failureId = await check.ExecuteScalarAsync<Guid>("SELECT id FROM failed_generations WHERE conversation_id = @conversationId", new { conversationId });
        await db.Get<QuarantineScanner>().ReleaseAsync(user.Id, failureId, "checked by hand", None);
        Assert.Equal(Turns, await check.ExecuteScalarAsync<string>("SELECT turns::text FROM conversations WHERE id = @conversationId", new { conversationId }));
    }

    [Fact]
    public async Task Each_committed_batch_and_the_end_are_announced_on_the_run_event_channel()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var (datasetId, _) = await SeedAsync(db, user.Id, 25);
        var scanner = db.Get<QuarantineScanner>();
        await using var listener = await db.DataSource.OpenConnectionAsync();
        var heard = new List<RunEvent>();
        listener.Notification += (_, e) => heard.Add(RunEvents.TryDeserialize(e.Payload)!);
        await listener.ExecuteAsync($"LISTEN {GenerationQueue.EventsChannel}");

        var scanId = await scanner.StartAsync(user.Id, ScanScope.Dataset(datasetId), dryRun: false, None);
        await scanner.RunAsync(user.Id, scanId, null, None, batchSize: 7);

        // Four batches of at most 7, then the end; each notification is read off the listening connection.
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (heard.Count < 5)
        {
            await listener.WaitAsync(patience.Token);
        }

        Assert.Equal(
            [.. Enumerable.Repeat((RunEvent.ScanProgressed, (Guid?)scanId), 4), (RunEvent.ScanCompleted, scanId)],
            heard.Select(e => (e.Kind, e.ScanId)));
    }

    [Fact]
    public async Task A_second_scan_moves_nothing()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        await SeedAsync(db, user.Id, 10);
        var scanner = db.Get<QuarantineScanner>();
        await scanner.RunAsync(user.Id, await scanner.StartAsync(user.Id, ScanScope.All, false, None), null, None);

        var second = await scanner.RunAsync(user.Id, await scanner.StartAsync(user.Id, ScanScope.All, false, None), null, None);

        Assert.Equal((8L, 8L, 0L, 0L), (second.Total, second.Scanned, second.Flagged, second.Quarantined));
    }

    [Fact]
    public async Task A_scan_killed_halfway_resumes_from_its_checkpoint_and_moves_each_row_once()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var (datasetId, cut) = await SeedAsync(db, user.Id, 30);
        var scanner = db.Get<QuarantineScanner>();
        var scanId = await scanner.StartAsync(user.Id, ScanScope.Dataset(datasetId), false, None);
        using var kill = new CancellationTokenSource();

        // Stop right after the second batch commits, as a Ctrl-C or a crash would.
        var batches = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scanner.RunAsync(
            user.Id, scanId, new SynchronousProgress(_ => { if (++batches == 2) { kill.Cancel(); } }), kill.Token, batchSize: 8));
        var halfway = await scanner.GetAsync(user.Id, scanId, None);
        var resumed = await scanner.RunAsync(user.Id, scanId, null, None, batchSize: 8);

        Assert.Equal((16L, "running"), (halfway!.Scanned, halfway.Status));
        Assert.Equal((30L, 6L, "completed"), (resumed.Scanned, resumed.Quarantined, resumed.Status));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(cut.Count, await connection.ExecuteScalarAsync<long>("SELECT count(DISTINCT conversation_id) FROM failed_generations WHERE source = 'scan'"));
        Assert.Equal(cut.Count, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE source = 'scan'"));
    }

    [Fact]
    public async Task A_dry_run_records_findings_and_moves_nothing()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        await SeedAsync(db, user.Id, 10);
        var scanner = db.Get<QuarantineScanner>();

        var scanId = await scanner.StartAsync(user.Id, ScanScope.All, dryRun: true, None);
        var result = await scanner.RunAsync(user.Id, scanId, null, None);

        Assert.Equal((2L, 0L), (result.Flagged, result.Quarantined));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(10, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations"));
        Assert.Equal(["would_quarantine", "would_quarantine"], await connection.QueryAsync<string>("SELECT action FROM scan_findings WHERE scan_id = @scanId", new { scanId }));
    }

    [Fact]
    public async Task A_released_row_comes_back_whole_with_who_and_why_and_later_scans_keep_it()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var (_, cut) = await SeedAsync(db, user.Id, 5);
        var scanner = db.Get<QuarantineScanner>();
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var before = await connection.ExecuteScalarAsync<string>("SELECT (to_jsonb(c.*) - 'released_from')::text FROM conversations c WHERE id = @id", new { id = cut.Single() });
        var turnsBefore = await connection.ExecuteScalarAsync<string>("SELECT turns::text FROM conversations WHERE id = @id", new { id = cut.Single() });
        await scanner.RunAsync(user.Id, await scanner.StartAsync(user.Id, ScanScope.All, false, None), null, None);
        var failureId = await connection.ExecuteScalarAsync<Guid>("SELECT id FROM failed_generations WHERE source = 'scan'");

        var released = await scanner.ReleaseAsync(user.Id, failureId, "A quoted fragment, complete as written.", None);
        var again = await scanner.RunAsync(user.Id, await scanner.StartAsync(user.Id, ScanScope.All, false, None), null, None);

        Assert.Equal(cut.Single(), released);
        Assert.Equal(before, await connection.ExecuteScalarAsync<string>("SELECT (to_jsonb(c.*) - 'released_from')::text FROM conversations c WHERE id = @id", new { id = released }));

        // turns is json: the text as written (compact here, not jsonb's spaced printing) comes back byte for byte.
        Assert.Equal(turnsBefore, await connection.ExecuteScalarAsync<string>("SELECT turns::text FROM conversations WHERE id = @id", new { id = released }));
        Assert.Equal((user.Id, "A quoted fragment, complete as written."), await connection.QuerySingleAsync<(Guid, string)>("SELECT released_by, release_reason FROM failed_generations WHERE id = @failureId", new { failureId }));
        Assert.Equal((1L, 0L, 1L), (again.Flagged, again.Quarantined, again.KeptReleased));
        Assert.Null(await scanner.ReleaseAsync(user.Id, failureId, "twice", None));
    }

    [Fact]
    public async Task A_member_scan_never_touches_another_members_rows()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        await SeedAsync(db, alice.Id, 5);
        var scanner = db.Get<QuarantineScanner>();

        var result = await scanner.RunAsync(bob.Id, await scanner.StartAsync(bob.Id, ScanScope.All, false, None), null, None);

        Assert.Equal((0L, 0L), (result.Scanned, result.Quarantined));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations"));
    }

    [Fact]
    public async Task A_row_quarantined_before_turns_became_json_is_released_from_its_jsonb()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var (_, cut) = await SeedAsync(db, user.Id, 5);
        var scanner = db.Get<QuarantineScanner>();
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var before = await connection.ExecuteScalarAsync<string>("SELECT (to_jsonb(c.*) - 'released_from')::text FROM conversations c WHERE id = @id", new { id = cut.Single() });
        await scanner.RunAsync(user.Id, await scanner.StartAsync(user.Id, ScanScope.All, false, None), null, None);

        // Before migration 0085 quarantined_row was to_jsonb(row) alone: turns parsed, without their text.
        var failureId = await connection.ExecuteScalarAsync<Guid>(
            """
            UPDATE failed_generations SET quarantined_row = (quarantined_row - 'turns_text') || jsonb_build_object('turns', (quarantined_row ->> 'turns_text')::jsonb)
            WHERE source = 'scan' RETURNING id
            """);
        var released = await scanner.ReleaseAsync(user.Id, failureId, "Complete as written.", None);

        Assert.Equal(cut.Single(), released);
        Assert.Equal(before, await connection.ExecuteScalarAsync<string>("SELECT (to_jsonb(c.*) - 'released_from')::text FROM conversations c WHERE id = @id", new { id = released }));
    }

    private sealed class SynchronousProgress(Action<ScanProgress> report) : IProgress<ScanProgress>
    {
        public void Report(ScanProgress value) => report(value);
    }
}
