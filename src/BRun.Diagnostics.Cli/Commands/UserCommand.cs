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
            var connectionString = RequireConnectionString(parseResult.GetValue(connection));
            var emailValue = RequireEmail("--email", parseResult.GetRequiredValue(email));
            var passwordValue = parseResult.GetRequiredValue(password);

            if (passwordValue.Length < MinPasswordLength)
            {
                throw CliException.Usage($"--password must have at least {MinPasswordLength} characters.");
            }

            if (parseResult.GetValue(name) is { } displayName && string.IsNullOrWhiteSpace(displayName))
            {
                throw CliException.Usage("--name must not be empty (leave it out to use the email).");
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
                throw CliException.Failed($"a user with email {emailValue.ToLowerInvariant()} already exists.");
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.CheckViolation)
            {
                throw CliException.Usage($"--email '{CliValues.Shorten(emailValue)}' is not a valid email address.");
            }
        });

        return new Command("user", "Manage dashboard users.") { create };
    }

    internal const string NoDatabase = "no database: pass --connection or set ConnectionStrings__Postgres.";

    internal const int MinPasswordLength = 8;

    internal static Option<string?> ConnectionOption() => new("--connection")
    {
        Description = "Npgsql connection string. Default: ConnectionStrings:Postgres (env ConnectionStrings__Postgres).",
    };

    /// <summary>The connection string, or a usage error saying where it comes from.</summary>
    internal static string RequireConnectionString(string? fromOption)
    {
        var value = ResolveConnectionString(fromOption) ?? throw CliException.Usage(NoDatabase);
        try
        {
            _ = new NpgsqlConnectionStringBuilder(value);
            return value;
        }
        catch (ArgumentException)
        {
            throw CliException.Usage("--connection (or ConnectionStrings__Postgres) is not an Npgsql connection string; expected Host=HOST;Port=PORT;Username=USER;Database=DB.");
        }
    }

    /// <summary>An email from an option, trimmed, or a usage error naming the option.</summary>
    internal static string RequireEmail(string optionName, string? value)
    {
        var trimmed = value?.Trim() ?? string.Empty;
        return LooksLikeEmail(trimmed)
            ? trimmed
            : throw CliException.Usage($"{optionName} '{CliValues.Shorten(trimmed)}' is not an email address (expected name@domain).");
    }

    private static bool LooksLikeEmail(string value) =>
        value.Length is > 2 and <= 320 && value.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < value.Length - 1
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    internal static string? ResolveConnectionString(string? fromOption)
    {
        var value = fromOption ?? new ConfigurationBuilder().AddEnvironmentVariables().Build().GetConnectionString("Postgres");
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
