using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests;

[Collection(IntegrationEnvironment.Collection)]
public sealed class UserCommandTests(IntegrationEnvironment env)
{
    internal static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunWithInputAsync(string.Empty, args);

    /// <summary>Runs the command line with <paramref name="stdin"/> as its standard input.</summary>
    internal static async Task<(int ExitCode, string Output, string Error)> RunWithInputAsync(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BrunCommandLine.InvokeAsync(args, output, error, input);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task User_create_stores_a_hashed_password_that_signs_in()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, output, _) = await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "Ana@Example.test", "--password-stdin", "--name", "Ana", "--connection", db.ConnectionString);

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

        var (exitCode, _, _) = await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "root@example.test", "--password-stdin", "--admin", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.Equal(AppUserRoles.Admin, (await db.Get<AppUserStore>().GetByEmailAsync("root@example.test", CancellationToken.None))?.Role);
    }

    [Fact]
    public async Task User_create_refuses_an_email_that_exists_with_exit_code_1()
    {
        await using var db = await env.CreateDatabaseAsync();
        await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        var (exitCode, _, error) = await RunWithInputAsync("other-pass\n", "user", "create", "--email", "ANA@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal(1, exitCode);
        Assert.Contains("already exists", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_create_refuses_a_short_password_as_a_usage_error()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, _) = await RunWithInputAsync("short\n", "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Null(await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None));
    }

    [Fact]
    public async Task User_create_with_an_empty_email_is_one_line_and_exit_2_not_a_stack_trace()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, error) = await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Equal("brun user create: --email '' is not an email address (expected name@domain).", error.TrimEnd());
    }

    [Fact]
    public async Task User_create_reads_the_password_from_stdins_first_line_only()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, _) = await RunWithInputAsync("piped pass 1\nsecond line\n", "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        var accounts = new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>());
        Assert.NotNull(await accounts.VerifyPasswordAsync("ana@example.test", "piped pass 1", CancellationToken.None));
    }

    [Fact]
    public async Task User_create_reads_the_password_from_the_environment_without_stdin_flag()
    {
        await using var db = await env.CreateDatabaseAsync();
        var previous = Environment.GetEnvironmentVariable("BRUN_USER_PASSWORD");
        Environment.SetEnvironmentVariable("BRUN_USER_PASSWORD", "from-the-env-1");
        try
        {
            var (exitCode, _, _) = await RunAsync("user", "create", "--email", "env@example.test", "--connection", db.ConnectionString);

            Assert.Equal(0, exitCode);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BRUN_USER_PASSWORD", previous);
        }

        var accounts = new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>());
        Assert.NotNull(await accounts.VerifyPasswordAsync("env@example.test", "from-the-env-1", CancellationToken.None));
    }

    [Fact]
    public async Task User_create_refuses_a_password_in_argv_without_echoing_it_and_creates_nobody()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, error) = await RunAsync("user", "create", "--email", "ana@example.test", "--password", "visible-in-ps", "--connection", db.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("brun user create: --password is not accepted", error, StringComparison.Ordinal);
        Assert.Contains("--password-stdin", error, StringComparison.Ordinal);
        Assert.DoesNotContain("visible-in-ps", error, StringComparison.Ordinal);
        Assert.Null(await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None));
    }

    [Fact]
    public async Task User_create_without_a_password_source_says_both_ways_to_give_one()
    {
        await using var db = await env.CreateDatabaseAsync();
        Assert.Null(Environment.GetEnvironmentVariable("BRUN_USER_PASSWORD"));

        var (exitCode, _, error) = await RunAsync("user", "create", "--email", "ana@example.test", "--connection", db.ConnectionString);
        var (emptyExit, _, emptyError) = await RunWithInputAsync(string.Empty, "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal((2, "brun user create: no password: pipe it in with --password-stdin, or set BRUN_USER_PASSWORD."), (exitCode, error.TrimEnd()));
        Assert.Equal((2, "brun user create: --password-stdin: stdin had no password line."), (emptyExit, emptyError.TrimEnd()));
        Assert.Null(await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None));
    }

    [Fact]
    public async Task User_set_password_replaces_the_password_from_stdin_and_signs_out_every_session()
    {
        await using var db = await env.CreateDatabaseAsync();
        await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);
        var before = (await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None))!.SessionStamp;

        var (exitCode, _, _) = await RunWithInputAsync("n3w-secret-pass\n", "user", "set-password", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.NotNull(await new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>())
            .VerifyPasswordAsync("ana@example.test", "n3w-secret-pass", CancellationToken.None));
        // A new session stamp: every dashboard cookie issued before is refused on its next request.
        Assert.NotEqual(before, (await db.Get<AppUserStore>().GetByEmailAsync("ana@example.test", CancellationToken.None))!.SessionStamp);
    }

    [Fact]
    public async Task User_set_password_for_an_unknown_email_is_exit_2()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (exitCode, _, error) = await RunWithInputAsync("n3w-secret-pass\n", "user", "set-password", "--email", "nobody@example.test", "--password-stdin", "--connection", db.ConnectionString);

        Assert.Equal((2, true), (exitCode, error.Contains("no user nobody@example.test", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task User_disable_refuses_the_last_admin_with_exit_1()
    {
        await using var db = await env.CreateDatabaseAsync();
        await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "root@example.test", "--password-stdin", "--admin", "--connection", db.ConnectionString);

        var (exitCode, _, error) = await RunAsync("user", "disable", "--email", "root@example.test", "--connection", db.ConnectionString);

        Assert.Equal((1, true), (exitCode, error.Contains("last enabled admin", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task User_disable_stops_a_member_signing_in()
    {
        await using var db = await env.CreateDatabaseAsync();
        await RunWithInputAsync("s3cret-pass\n", "user", "create", "--email", "ana@example.test", "--password-stdin", "--connection", db.ConnectionString);

        var (exitCode, _, _) = await RunAsync("user", "disable", "--email", "ana@example.test", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.Null(await new LocalAccountService(db.Get<Infrastructure.Database.IUserScopedConnectionFactory>())
            .VerifyPasswordAsync("ana@example.test", "s3cret-pass", CancellationToken.None));
    }
}
