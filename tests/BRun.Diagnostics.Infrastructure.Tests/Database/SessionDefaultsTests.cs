using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Testing;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Database;

[Collection(IntegrationEnvironment.Collection)]
public sealed class SessionDefaultsTests(IntegrationEnvironment environment)
{
    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task The_applications_connections_run_without_jit_even_after_the_pool_resets_them()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var factory = db.Get<IUserScopedConnectionFactory>();

        // The test server's own default is on; the application's connections turn it off at start-up.
        Assert.Equal("on", await db.DataSource.CreateCommand("SHOW jit").ExecuteScalarAsync(None));
        for (var i = 0; i < 2; i++)
        {
            // The second open is the pooled connection after DISCARD ALL.
            await using var connection = await factory.OpenAsync(DbIdentity.User(user.Id), None);
            Assert.Equal("off", await connection.ExecuteScalarAsync<string>("SHOW jit"));
        }
    }

    [Theory]
    [InlineData(null, "-c jit=off")]
    [InlineData("", "-c jit=off")]
    [InlineData("-c statement_timeout=5000", "-c statement_timeout=5000 -c jit=off")]
    [InlineData("-c jit=on", "-c jit=on")]
    [InlineData("-c JIT=on -c work_mem=64MB", "-c JIT=on -c work_mem=64MB")]
    [InlineData("--jit=on", "--jit=on")]
    [InlineData("-c application_name=jitter", "-c application_name=jitter -c jit=off")]
    public void An_operators_own_jit_setting_is_kept(string? options, string expected)
    {
        var builder = new NpgsqlConnectionStringBuilder("Host=localhost") { Options = options };
        DatabaseSessionDefaults.Apply(builder);
        Assert.Equal(expected, builder.Options);
    }
}
