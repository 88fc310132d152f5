using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Tests.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Database;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RowLevelSecurityTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<long> CountVisibleAsync(NpgsqlConnection connection) =>
        await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations");

    [Fact]
    public async Task A_member_sees_only_their_own_failures()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        var mine = await store.StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        await store.StoreAsync(FailureSamples.ProxyError(), bob.Id, None);

        var page = await db.Get<FailedGenerationReader>().ListAsync(DbIdentity.User(alice.Id), FailedGenerationFilter.None, new PageRequest(), None);

        Assert.Equal([mine.Id], page.Items.Select(i => i.Id));
        Assert.Equal(1, page.TotalCount);
    }

    [Fact]
    public async Task A_member_cannot_read_another_users_failure_by_id()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var bobs = await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), bob.Id, None);

        var seen = await db.Get<FailedGenerationReader>().GetAsync(DbIdentity.User(alice.Id), bobs.Id, None);

        Assert.Null(seen);
    }

    [Fact]
    public async Task A_member_cannot_insert_a_row_owned_by_another_user()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(alice.Id), None);

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
            "INSERT INTO conversations (model, turns, created_by) VALUES ('m', '[]', @bob)", new { bob = bob.Id }));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    [Fact]
    public async Task An_admin_sees_every_users_failures()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        await store.StoreAsync(FailureSamples.ProxyError(), bob.Id, None);

        var stats = await db.Get<FailedGenerationReader>().GetStatisticsAsync(DbIdentity.User(admin.Id), FailedGenerationFilter.None, None);

        Assert.Equal(2, stats.Total);
    }

    [Fact]
    public async Task A_scan_under_the_read_policies_runs_in_parallel_workers_that_know_the_user()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        for (var i = 0; i < 3; i++)
        {
            await store.StoreAsync(FailureSamples.Truncation(), alice.Id, None);
            await store.StoreAsync(FailureSamples.ProxyError(), bob.Id, None);
        }

        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(alice.Id), None);
        // Costs that make any parallel-safe scan parallel, whatever the table's size (migration 0088: the policies'
        // functions were parallel unsafe, which kept every query in one process).
        await connection.ExecuteAsync("""
            SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
            SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;
            """);
        // Through the read policy (its functions run once, in the leader), and with brun_current_user_id() on every
        // row, which each worker evaluates from the session's settings.
        const string Search = "(error_message ILIKE '%a%' OR truncation_details ILIKE '%a%')";
        string[] queries =
        [
            $"SELECT count(*) FROM failed_generations WHERE {Search}",
            $"SELECT count(*) FROM failed_generations WHERE created_by = brun_current_user_id() AND {Search}",
        ];
        var plans = new List<string>();
        var counts = new List<long>();
        foreach (var sql in queries)
        {
            plans.Add(string.Join(" ", await connection.QueryAsync<string>("EXPLAIN (COSTS OFF) " + sql)));
            counts.Add(await connection.ExecuteScalarAsync<long>(sql));
        }

        Assert.All(plans, plan => Assert.Contains("Gather", plan, StringComparison.Ordinal));
        Assert.Equal([3L, 3L], counts);
    }

    [Fact]
    public async Task A_session_without_a_user_sees_nothing()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("SET ROLE brun_app");

        Assert.Equal(0, await CountVisibleAsync(connection));
    }

    [Fact]
    public async Task The_system_identity_sees_every_row()
    {
        await using var db = await env.CreateDatabaseAsync();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation(), (await db.CreateUserAsync()).Id, None);
        await store.StoreAsync(FailureSamples.ProxyError(), (await db.CreateUserAsync()).Id, None);
        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.System, None);

        Assert.Equal(2, await CountVisibleAsync(connection));
    }

    [Fact]
    public async Task Admin_rights_come_from_the_database_not_from_session_settings()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), (await db.CreateUserAsync()).Id, None);
        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(alice.Id), None);

        // A client claiming admin through any setting it can reach changes nothing.
        await connection.ExecuteAsync("SELECT set_config('app.role', 'admin', false), set_config('app.is_admin', 'true', false)");

        Assert.Equal(0, await CountVisibleAsync(connection));
    }

    [Fact]
    public async Task Role_and_user_do_not_leak_to_the_next_user_of_a_pooled_connection()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        // One physical connection, so the second open must reuse the first one.
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db.ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        var factory = new UserScopedConnectionFactory(dataSource);
        int firstPid;
        await using (var scoped = await factory.OpenAsync(DbIdentity.User(alice.Id), None))
        {
            firstPid = scoped.ProcessID;
            Assert.Equal(1, await CountVisibleAsync(scoped));
        }

        await using var next = await dataSource.OpenConnectionAsync();
        var state = await next.QuerySingleAsync<(string User, string? AppUser)>(
            "SELECT current_user::text, current_setting('app.user_id', true)");

        Assert.Equal(firstPid, next.ProcessID);
        Assert.Equal(("postgres", ""), (state.User, state.AppUser ?? ""));
    }

    [Fact]
    public async Task A_pooled_connection_reopened_for_another_user_shows_only_that_users_rows()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        await store.StoreAsync(FailureSamples.ProxyError(), alice.Id, None);
        var bobs = await store.StoreAsync(FailureSamples.CutStream(), bob.Id, None);
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db.ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        var factory = new UserScopedConnectionFactory(dataSource);
        await using (var asAlice = await factory.OpenAsync(DbIdentity.User(alice.Id), None))
        {
            Assert.Equal(2, await CountVisibleAsync(asAlice));
        }

        await using var asBob = await factory.OpenAsync(DbIdentity.User(bob.Id), None);
        var visible = (await asBob.QueryAsync<Guid>("SELECT id FROM failed_generations")).ToList();

        Assert.Equal([bobs.Id], visible);
    }

    [Fact]
    public async Task Policies_hold_for_a_non_superuser_login()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        var alices = await store.StoreAsync(FailureSamples.Truncation(), alice.Id, None);
        await store.StoreAsync(FailureSamples.ProxyError(), (await db.CreateUserAsync()).Id, None);
        var login = "app_login_" + Guid.NewGuid().ToString("N")[..8];
        await env.ExecuteAsync($"CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS; GRANT brun_app TO {login}; GRANT CONNECT ON DATABASE {db.Name} TO {login}");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(
                new NpgsqlConnectionStringBuilder(db.ConnectionString) { Username = login, Pooling = false }.ConnectionString);
            await using var connection = await new UserScopedConnectionFactory(dataSource).OpenAsync(DbIdentity.User(alice.Id), None);

            var visible = (await connection.QueryAsync<Guid>("SELECT id FROM failed_generations")).ToList();

            Assert.Equal([alices.Id], visible);
        }
        finally
        {
            await env.ExecuteAsync($"DROP DATABASE IF EXISTS {db.Name} WITH (FORCE)");
            await env.ExecuteAsync($"DROP ROLE {login}");
        }
    }
}
