using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun user create</c>: creates a dashboard account that signs in with a password.</summary>
internal static class UserCommand
{
    public static Command Create()
    {
        var connection = ConnectionOption();
        var email = new Option<string>("--email") { Description = "Email to sign in with.", Required = true };
        var password = new Option<string>("--password") { Description = "Password (stored as a PasswordHasher hash).", Required = true };
        var admin = new Option<bool>("--admin") { Description = "Make the user an admin (sees every user's runs and failures)." };
        var name = new Option<string?>("--name") { Description = "Display name. Default: the email." };
        var create = new Command("create", "Create a user with a password.") { email, password, admin, name, connection };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (ResolveConnectionString(parseResult.GetValue(connection)) is not { } connectionString)
            {
                await error.WriteLineAsync(NoDatabase).ConfigureAwait(false);
                return 2;
            }

            var emailValue = parseResult.GetRequiredValue(email).Trim();
            var passwordValue = parseResult.GetRequiredValue(password);
            if (passwordValue.Length < 8)
            {
                await error.WriteLineAsync("The password must have at least 8 characters.").ConfigureAwait(false);
                return 1;
            }

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var accounts = new LocalAccountService(new UserScopedConnectionFactory(dataSource));
            var role = parseResult.GetValue(admin) ? AppUserRoles.Admin : AppUserRoles.Member;
            try
            {
                var user = await accounts.CreateAsync(emailValue, parseResult.GetValue(name) ?? emailValue, passwordValue, role, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"created {user.Role} {user.Email} ({user.Id:D})").ConfigureAwait(false);
                return 0;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                await error.WriteLineAsync($"A user with email {emailValue.ToLowerInvariant()} already exists.").ConfigureAwait(false);
                return 1;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.CheckViolation)
            {
                await error.WriteLineAsync($"'{emailValue}' is not a valid email.").ConfigureAwait(false);
                return 1;
            }
        });

        return new Command("user", "Manage dashboard users.") { create };
    }

    internal const string NoDatabase = "No database: pass --connection or set ConnectionStrings__Postgres.";

    internal static Option<string?> ConnectionOption() => new("--connection")
    {
        Description = "Npgsql connection string. Default: ConnectionStrings:Postgres (env ConnectionStrings__Postgres).",
    };

    internal static string? ResolveConnectionString(string? fromOption)
    {
        var value = fromOption ?? new ConfigurationBuilder().AddEnvironmentVariables().Build().GetConnectionString("Postgres");
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
