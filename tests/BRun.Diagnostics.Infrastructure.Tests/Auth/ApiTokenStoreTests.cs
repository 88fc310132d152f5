using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class ApiTokenStoreTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_token_authenticates_its_owner_and_records_the_use()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var tokens = new ApiTokenStore(db.Get<IUserScopedConnectionFactory>(), db.Time);
        var created = await tokens.CreateAsync(user.Id, "script", None);

        var owner = await tokens.AuthenticateAsync(created.Token, None);

        Assert.Equal(user.Id, owner?.Id);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(db.Time.GetUtcNow().UtcDateTime, await connection.ExecuteScalarAsync<DateTime?>("SELECT last_used_at FROM api_tokens WHERE id = @id", new { id = created.Id }));
    }

    [Fact]
    public async Task A_revoked_token_no_longer_authenticates()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var tokens = new ApiTokenStore(db.Get<IUserScopedConnectionFactory>(), db.Time);
        var created = await tokens.CreateAsync(user.Id, "script", None);

        Assert.True(await tokens.RevokeAsync(DbIdentity.User(user.Id), created.Id, None));

        Assert.Null(await tokens.AuthenticateAsync(created.Token, None));
    }

    [Fact]
    public async Task A_member_cannot_revoke_another_members_token()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var other = await db.CreateUserAsync();
        var tokens = new ApiTokenStore(db.Get<IUserScopedConnectionFactory>(), db.Time);
        var created = await tokens.CreateAsync(owner.Id, "script", None);

        Assert.False(await tokens.RevokeAsync(DbIdentity.User(other.Id), created.Id, None));
        Assert.NotNull(await tokens.AuthenticateAsync(created.Token, None));
    }
}
