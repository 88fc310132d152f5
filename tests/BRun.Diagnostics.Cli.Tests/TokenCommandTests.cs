using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests;

[Collection(IntegrationEnvironment.Collection)]
public sealed class TokenCommandTests(IntegrationEnvironment env)
{
    [Fact]
    public async Task Token_create_prints_a_token_once_that_authenticates_its_owner_and_stores_only_its_hash()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();

        var (exitCode, output, _) = await UserCommandTests.RunAsync("token", "create", "--email", user.Email, "--name", "ci", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        var token = output.Trim();
        Assert.True(ApiTokens.LooksValid(token), $"Not a token: '{token}'");
        var owner = await new ApiTokenStore(db.Get<IUserScopedConnectionFactory>(), db.Time).AuthenticateAsync(token, CancellationToken.None);
        Assert.Equal(user.Id, owner?.Id);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<(string Name, string TokenHash)>("SELECT name, token_hash FROM api_tokens");
        Assert.Equal(("ci", ApiTokens.Hash(token)), stored);
    }

    [Fact]
    public async Task Token_create_for_an_unknown_email_is_a_usage_error_like_run_create()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, output, error) = await UserCommandTests.RunAsync("token", "create", "--email", "nobody@example.test", "--connection", db.ConnectionString);

        Assert.Equal((2, string.Empty), (exitCode, output));
        Assert.Contains("No user", error, StringComparison.Ordinal);
    }
}
