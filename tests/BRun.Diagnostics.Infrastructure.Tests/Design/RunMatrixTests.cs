using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Design;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunMatrixTests(IntegrationEnvironment environment)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_matrix_run_creates_exactly_the_promised_combinations()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var runs = DesignStoreTests.Services(db).GetRequiredService<RunStore>();
        var matrix = new RunMatrixSpec
        {
            Personas = [new("gig_worker"), new("new_parent")],
            EmotionalArcs = [new("fear_to_confidence"), new("shame_to_acceptance"), new("overwhelm_to_agency")],
            TrainingTopics = [new("debt_payoff")],
            PerCombination = 2,
        };

        var runId = await runs.CreateAsync(member.Id, new CreateRunRequest(0, "default", "m", 1024, null) { Matrix = matrix }, None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var combinations = (await connection.QueryAsync<(string Persona, string Arc, string Topic, int Count)>("""
            SELECT p.key, a.key, s.key, count(*)::int FROM generation_tasks t
            JOIN personas p ON p.id = t.persona_id JOIN emotional_arcs a ON a.id = t.emotional_arc_id
            JOIN training_topics s ON s.id = t.training_topic_id
            WHERE t.run_id = @runId GROUP BY 1, 2, 3
            """, new { runId })).ToList();
        var expected = from p in matrix.Personas from a in matrix.EmotionalArcs from t in matrix.TrainingTopics
                       select (p.Key, a.Key, t.Key, 2);
        Assert.Equal(expected.OrderBy(x => x), combinations.OrderBy(x => x));
        Assert.Equal(12, await connection.ExecuteScalarAsync<int>("SELECT total FROM generation_runs WHERE id = @runId", new { runId }));
    }

    [Fact]
    public async Task A_weighted_matrix_spreads_the_count_by_weight()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var runs = DesignStoreTests.Services(db).GetRequiredService<RunStore>();
        var matrix = new RunMatrixSpec
        {
            Personas = [new("gig_worker", 3m), new("new_parent", 1m)],
            EmotionalArcs = [new("fear_to_confidence")],
            TrainingTopics = [new("debt_payoff")],
        };

        var runId = await runs.CreateAsync(member.Id, new CreateRunRequest(40, "default", "m", 1024, null) { Matrix = matrix }, None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var gig = await connection.ExecuteScalarAsync<int>("""
            SELECT count(*) FROM generation_tasks t JOIN personas p ON p.id = t.persona_id
            WHERE t.run_id = @runId AND p.key = 'gig_worker'
            """, new { runId });
        Assert.Equal(30, gig);
    }

    [Fact]
    public async Task The_run_freezes_the_scaffolding_texts_it_used()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(Users.AppUserRoles.Admin);
        var services = DesignStoreTests.Services(db);
        var matrix = new RunMatrixSpec { Personas = [new("gig_worker")], EmotionalArcs = [new("fear_to_confidence")], TrainingTopics = [new("debt_payoff")] };
        var runId = await services.GetRequiredService<RunStore>().CreateAsync(member.Id, new CreateRunRequest(2, "default", "m", 1024, null) { Matrix = matrix }, None);

        await services.GetRequiredService<DesignStore>().UpdateScaffoldingAsync(
            DbIdentity.User(admin.Id), ScaffoldingKind.Persona, "gig_worker", null, "Rewritten later.", None);

        var design = await services.GetRequiredService<GenerationDesignReader>().GetRunDesignAsync(DbIdentity.User(member.Id), runId, None);
        var persona = Assert.Single(design!.Scaffolding, s => s.Kind == "persona");
        Assert.StartsWith("A 29-year-old rideshare driver", persona.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_key_in_a_matrix_is_refused_by_name()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var runs = DesignStoreTests.Services(db).GetRequiredService<RunStore>();
        var matrix = new RunMatrixSpec { Personas = [new("nobody")], PerCombination = 1 };

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            runs.CreateAsync(member.Id, new CreateRunRequest(0, "default", "m", 1024, null) { Matrix = matrix }, None));

        Assert.Contains("'nobody'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_breakdown_by_persona_matches_the_rows()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var services = DesignStoreTests.Services(db);
        var matrix = new RunMatrixSpec
        {
            Personas = [new("gig_worker"), new("new_parent"), new("recent_widow")],
            EmotionalArcs = [new("fear_to_confidence"), new("grief_to_stability")],
            PerCombination = 3,
        };
        var runId = await services.GetRequiredService<RunStore>().CreateAsync(member.Id, new CreateRunRequest(0, "default", "m", 1024, null) { Matrix = matrix }, None);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        // An uneven mix of outcomes: every third task failed, every fifth succeeded, the rest pending.
        await connection.ExecuteAsync("""
            UPDATE generation_tasks SET state = CASE WHEN seq % 3 = 0 THEN 'failed' WHEN seq % 5 = 0 THEN 'succeeded' ELSE state END
            WHERE run_id = @runId
            """, new { runId });

        var breakdown = await services.GetRequiredService<GenerationDesignReader>().GetRunBreakdownAsync(DbIdentity.User(member.Id), runId, None);

        // Per persona and per arc (each count comes from the same combinations of all dimensions).
        async Task<List<(string Key, int Total, int Succeeded, int Failed, int Pending)>> ExpectedAsync(string table, string column) =>
            (await connection.QueryAsync<(string Key, int Total, int Succeeded, int Failed, int Pending)>($"""
                SELECT x.key, count(*)::int, count(*) FILTER (WHERE t.state = 'succeeded')::int, count(*) FILTER (WHERE t.state = 'failed')::int,
                       count(*) FILTER (WHERE t.state IN ('available', 'running'))::int
                FROM generation_tasks t JOIN {table} x ON x.id = t.{column} WHERE t.run_id = @runId GROUP BY x.key
                """, new { runId })).OrderBy(r => r.Key).ToList();
        List<(string Key, int Total, int Succeeded, int Failed, int Pending)> Actual(string dimension) =>
            [.. breakdown.Where(r => r.Dimension == dimension).Select(r => (r.Key, r.Total, r.Succeeded, r.Failed, r.Pending)).OrderBy(r => r.Key)];
        Assert.Equal(await ExpectedAsync("personas", "persona_id"), Actual(BreakdownDimension.Persona));
        Assert.Equal(await ExpectedAsync("emotional_arcs", "emotional_arc_id"), Actual(BreakdownDimension.EmotionalArc));
    }

    [Fact]
    public async Task The_breakdown_counts_a_members_own_runs_an_admin_and_maintenance_every_run()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(Users.AppUserRoles.Admin);
        var services = DesignStoreTests.Services(db);
        var runs = services.GetRequiredService<RunStore>();
        var alicesRun = await runs.CreateAsync(alice.Id, new CreateRunRequest(3, "default", "m", 1024, null), None);
        await runs.CreateAsync(bob.Id, new CreateRunRequest(5, "default", "m", 1024, null), None);
        var reader = services.GetRequiredService<GenerationDesignReader>();

        // Every task has one template version: that dimension's totals are the tasks counted.
        async Task<int> TasksAsync(DbIdentity identity, Guid? runId = null) =>
            (await reader.GetBreakdownAsync(identity, runId, null, null, null, None))
                .Where(r => r.Dimension == BreakdownDimension.TemplateVersion).Sum(r => r.Total);

        Assert.Equal(
            (3, 5, 8, 8, 3, 0),
            (await TasksAsync(DbIdentity.User(alice.Id)), await TasksAsync(DbIdentity.User(bob.Id)), await TasksAsync(DbIdentity.User(admin.Id)),
                await TasksAsync(DbIdentity.System), await TasksAsync(DbIdentity.User(admin.Id), alicesRun), await TasksAsync(DbIdentity.User(bob.Id), alicesRun)));
    }

    [Fact]
    public async Task The_breakdown_has_one_row_per_template_version_used()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var services = DesignStoreTests.Services(db);
        var identity = DbIdentity.User(member.Id);
        var store = services.GetRequiredService<DesignStore>();
        var runs = services.GetRequiredService<RunStore>();
        await store.CreateTemplateAsync(identity, "mine", "A {{persona}} {{variation}}", shared: false, None);
        await runs.CreateAsync(member.Id, new CreateRunRequest(2, "mine", "m", 1024, null), None);
        await store.UpdateTemplateAsync(identity, "mine", "B {{persona}} {{variation}}", None);
        await runs.CreateAsync(member.Id, new CreateRunRequest(3, "mine", "m", 1024, null), None);

        var breakdown = await services.GetRequiredService<GenerationDesignReader>().GetBreakdownAsync(identity, null, null, null, null, None);

        var versions = breakdown.Where(r => r.Dimension == BreakdownDimension.TemplateVersion).ToDictionary(r => r.Key, r => r.Total);
        Assert.Equal(new Dictionary<string, int> { ["mine v1"] = 2, ["mine v2"] = 3 }, versions);
    }
}
