using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

/// <summary>The narrow search copy of failed_generations (migration 0089) and its combinations of chip values.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class FailedGenerationSearchCopyTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task An_update_of_other_columns_leaves_the_copy_alone_and_a_text_change_replaces_it()
    {
        await using var db = await env.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var stored = await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), member.Id, None);
        await using var c = await db.DataSource.OpenConnectionAsync();
        const string Version = "SELECT xmin::text FROM failed_generation_search WHERE id = @id";
        var before = await c.ExecuteScalarAsync<string>(Version, new { stored.Id });
        Assert.NotNull(before);

        await c.ExecuteAsync("UPDATE failed_generations SET report_attempts = report_attempts + 1 WHERE id = @id", new { stored.Id });
        Assert.Equal(before, await c.ExecuteScalarAsync<string>(Version, new { stored.Id }));

        // As the member (brun_app, under the copy's own policies): the row's text is corrected.
        await using (var asMember = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(member.Id), None))
        {
            await asMember.ExecuteAsync("UPDATE failed_generations SET error_message = 'Fixed BY Hand' WHERE id = @id", new { stored.Id });
        }

        Assert.Equal("fixed by hand", await c.ExecuteScalarAsync<string>("SELECT errors FROM failed_generation_search WHERE id = @id", new { stored.Id }));
        Assert.NotEqual(before, await c.ExecuteScalarAsync<string>(Version, new { stored.Id }));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(FailureCountsRollupTests.SearchMismatchSql));
    }

    [Fact]
    public async Task A_missing_value_and_an_empty_one_are_different_combinations()
    {
        await using var db = await env.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation() with { StopReason = null }, member.Id, None);
        await store.StoreAsync(FailureSamples.Truncation() with { StopReason = "" }, member.Id, None);
        await store.StoreAsync(FailureSamples.Truncation() with { StopReason = "" }, member.Id, None);

        await using var c = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(2, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_dimensions"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(FailureCountsRollupTests.SearchMismatchSql));
    }

    [Fact]
    public async Task A_member_reads_only_their_own_copies_and_combinations()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation(runId: Guid.NewGuid()), alice.Id, None);
        await store.StoreAsync(FailureSamples.Truncation(runId: Guid.NewGuid()), bob.Id, None);
        await store.StoreAsync(FailureSamples.Truncation(runId: Guid.NewGuid()), bob.Id, None);

        await using var asAlice = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(alice.Id), None);
        Assert.Equal(
            (1L, 1L, 0L),
            (await asAlice.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search"),
                await asAlice.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_dimensions"),
                await asAlice.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search WHERE created_by = @id", new { bob.Id })));
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => asAlice.ExecuteAsync(
            "INSERT INTO failed_generation_dimensions (created_by, key, failure_type, model) VALUES (@id, 'x', 'truncation', 'm')", new { bob.Id }));
    }

    [Fact]
    public async Task A_sample_of_the_copy_calls_a_term_broad_only_from_enough_matches_the_user_may_see()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = (await db.CreateUserAsync()).Id;
        var bob = (await db.CreateUserAsync()).Id;
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            // 2,400 rows, half each (BulkInsertSql alternates owners every 7 rows); a third of them say "backslash".
            await c.ExecuteAsync(FailureCountsRollupTests.BulkInsertSql(2400), new { userA = alice, userB = bob, runA = Guid.NewGuid(), runB = Guid.NewGuid() });
            await c.ExecuteAsync("UPDATE failed_generations SET truncation_details = 'A lone BACKSLASH' WHERE created_by = @alice OR random() < 0.3", new { alice });
        }

        var connections = db.Get<IUserScopedConnectionFactory>();
        async Task<bool> BroadAsync(Guid user, string pattern, int max)
        {
            // The whole copy as the sample (100 %), so the rule is what is tested, not which pages a seed picks.
            await using var connection = await connections.OpenAsync(DbIdentity.User(user), None);
            return await connection.ExecuteScalarAsync<bool>("SELECT brun_failed_generation_text_is_broad(@pattern, @max, 100)", new { pattern, max });
        }

        // Alice's own 1,200 matches: at least five times 200, not five times 300. Bob sees his own few hundred only,
        // below the 1,000 matches a sample must show; a term nobody wrote is never broad.
        Assert.Equal(
            (true, false, false, false),
            (await BroadAsync(alice, "%backslash%", 200), await BroadAsync(alice, "%backslash%", 300),
                await BroadAsync(bob, "%backslash%", 10), await BroadAsync(alice, "%gateway%", 0)));
    }
}
