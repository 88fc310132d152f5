using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests;

[Collection(IntegrationEnvironment.Collection)]
public sealed class UserCommandTests(IntegrationEnvironment env)
{
    internal static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BrunCommandLine.InvokeAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task User_create_stores_a_hashed_password_that_signs_in()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, output, _) = await RunAsync("user", "create", "--email", "Ana@Example.test", "--password", "s3cret-pass", "--name", "Ana", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.Contains("created member ana@example.test", output, StringComparison.Ordinal);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        var hash = await connection.ExecuteScalarAsync<string>("SELECT password_hash FROM app_users WHERE email = 'ana@example.test'");
        Assert.NotEqual("s3cret-pass", hash);
        var user = await new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>())
            .VerifyPasswordAsync("ana@example.test", "s3cret-pass", CancellationToken.None);
        Assert.Equal(("Ana", AppUserRoles.Member), (user?.DisplayName, user?.Role));
    }

    [Fact]
    public async Task User_create_with_admin_makes_an_admin()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, _) = await RunAsync("user", "create", "--email", "root@example.test", "--password", "s3cret-pass", "--admin", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.Equal(AppUserRoles.Admin, (await db.Get<AppUserStore>().GetByEmailAsync("root@example.test", CancellationToken.None))?.Role);
    }

    [Fact]
    public async Task User_create_refuses_an_email_that_exists_with_exit_code_1()
    {
        await using var db = await env.CreateDatabaseAsync();
        await RunAsync("user", "create", "--email", "ana@example.test", "--password", "s3cret-pass", "--connection", db.ConnectionString);

        var (exitCode, _, error) = await RunAsync("user", "create", "--email", "ANA@example.test", "--password", "other-pass", "--connection", db.ConnectionString);

        Assert.Equal(1, exitCode);
        Assert.Contains("already exists", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_create_refuses_a_short_password_as_a_usage_error()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, _) = await RunAsync("user", "create", "--email", "ana@example.test", "--password", "short", "--connection", db.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Null(await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None));
    }

    [Fact]
    public async Task User_create_with_an_empty_email_is_one_line_and_exit_2_not_a_stack_trace()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, error) = await RunAsync("user", "create", "--email", "", "--password", "s3cret-pass", "--connection", db.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Equal("brun user create: --email '' is not an email address (expected name@domain).", error.TrimEnd());
    }
}
