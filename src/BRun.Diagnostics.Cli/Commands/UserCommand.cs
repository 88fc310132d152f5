using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun user create|set-password|disable</c>: dashboard accounts that sign in with a password.</summary>
internal static class UserCommand
{
    /// <summary>The environment variable <c>brun user create</c> reads the password from when it is not piped in.</summary>
    internal const string PasswordVariable = "BRUN_USER_PASSWORD";

    /// <param name="input">Where <c>--password-stdin</c> reads the password (the console in the real program).</param>
    /// <param name="askSecret">
    /// Asks a person at a terminal for a password without echoing it, when neither <c>--password-stdin</c> nor the
    /// variable gives one; null when nobody can be asked (input is piped, or a test).
    /// </param>
    public static Command Create(TextReader input, Func<string, string>? askSecret = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var connection = ConnectionOption();
        var email = new Option<string>("--email") { Description = "Email to sign in with.", Required = true };
        var passwordStdin = new Option<bool>("--password-stdin")
        {
            Description = $"Read the password from the first line of stdin. Default: the {PasswordVariable} environment variable.",
        };

        // Kept (hidden) only to refuse it with a reason: a password in argv is readable by every user of the machine
        // through ps and /proc, and stays in shell history.
        var argvPassword = new Option<string?>("--password") { Hidden = true };
        var admin = new Option<bool>("--admin") { Description = "Make the user an admin (sees every user's runs and failures)." };
        var name = new Option<string?>("--name") { Description = "Display name. Default: the email." };
        var create = new Command("create", $"Create a user with a password (piped with --password-stdin, in {PasswordVariable}, or typed when asked).")
        {
            email, passwordStdin, argvPassword, admin, name, connection,
        };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var (connectionString, emailValue, passwordValue) = await ReadCredentialsAsync(
                parseResult, connection, email, passwordStdin, argvPassword, input, askSecret, cancellationToken).ConfigureAwait(false);

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

        return new Command("user", "Manage dashboard users.") { create, SetPasswordSubcommand(input, askSecret), DisableSubcommand() };
    }

    /// <summary><c>brun user set-password --email E --password-stdin</c>: replaces a user's password (the operator's reset).</summary>
    private static Command SetPasswordSubcommand(TextReader input, Func<string, string>? askSecret)
    {
        var connection = ConnectionOption();
        var email = new Option<string>("--email") { Description = "The user whose password is set.", Required = true };
        var passwordStdin = new Option<bool>("--password-stdin")
        {
            Description = $"Read the new password from the first line of stdin. Default: the {PasswordVariable} environment variable.",
        };
        var argvPassword = new Option<string?>("--password") { Hidden = true };
        var command = new Command("set-password", $"Set a user's password (piped with --password-stdin, in {PasswordVariable}, or typed when asked).")
        {
            email, passwordStdin, argvPassword, connection,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var (connectionString, emailValue, passwordValue) = await ReadCredentialsAsync(
                parseResult, connection, email, passwordStdin, argvPassword, input, askSecret, cancellationToken).ConfigureAwait(false);
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var accounts = new LocalAccountService(new UserScopedConnectionFactory(dataSource));
            if (!await accounts.SetPasswordAsync(emailValue, passwordValue, cancellationToken).ConfigureAwait(false))
            {
                throw CliException.Usage($"no user {emailValue.ToLowerInvariant()} (--email).");
            }

            await parseResult.InvocationConfiguration.Output.WriteLineAsync($"password set for {emailValue.ToLowerInvariant()}").ConfigureAwait(false);
            return CliExit.Ok;
        });
        return command;
    }

    /// <summary><c>brun user disable --email E [--enable]</c>: a disabled user cannot sign in, and their tokens and cookies stop working.</summary>
    private static Command DisableSubcommand()
    {
        var connection = ConnectionOption();
        var email = new Option<string>("--email") { Description = "The user to disable.", Required = true };
        var enable = new Option<bool>("--enable") { Description = "Enable the user again instead." };
        var command = new Command("disable", "Disable a user (refused for the last enabled admin); --enable undoes it.") { email, enable, connection };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var connectionString = RequireConnectionString(parseResult.GetValue(connection));
            var emailValue = RequireEmail("--email", parseResult.GetRequiredValue(email));
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var connections = new UserScopedConnectionFactory(dataSource);
            var user = await new AppUserStore(connections).GetByEmailAsync(emailValue, cancellationToken).ConfigureAwait(false)
                ?? throw CliException.Usage($"no user {emailValue.ToLowerInvariant()} (--email).");
            var disable = !parseResult.GetValue(enable);
            var outcome = await new UserAdministration(connections, new LocalAccountService(connections), TimeProvider.System)
                .SetDisabledAsync(null, user.Id, disable, cancellationToken).ConfigureAwait(false);
            return outcome switch
            {
                UserChangeOutcome.Done => await DoneAsync(parseResult.InvocationConfiguration.Output, $"{(disable ? "disabled" : "enabled")} {user.Email}").ConfigureAwait(false),
                UserChangeOutcome.LastAdmin => throw CliException.Failed($"{user.Email} is the last enabled admin; make another admin first (brun user create --admin)."),
                _ => throw CliException.Failed($"{user.Email} was not changed ({outcome})."),
            };
        });
        return command;
    }

    private static async Task<int> DoneAsync(TextWriter output, string message)
    {
        await output.WriteLineAsync(message).ConfigureAwait(false);
        return CliExit.Ok;
    }

    /// <summary>
    /// The connection string, email and password of a command that sets a password, in that order of checks. A password
    /// in argv (<c>--password</c>, kept hidden only for this) is refused with the reason.
    /// </summary>
    private static async Task<(string ConnectionString, string Email, string Password)> ReadCredentialsAsync(
        ParseResult parseResult, Option<string?> connection, Option<string> email, Option<bool> passwordStdin, Option<string?> argvPassword,
        TextReader input, Func<string, string>? askSecret, CancellationToken cancellationToken)
    {
        if (parseResult.GetResult(argvPassword) is not null)
        {
            throw CliException.Usage(
                $"--password is not accepted: a password on the command line is visible to every user of this machine (ps, /proc) and stays in shell history. Pipe it with --password-stdin or set {PasswordVariable}.");
        }

        var connectionString = RequireConnectionString(parseResult.GetValue(connection));
        var emailValue = RequireEmail("--email", parseResult.GetRequiredValue(email));
        var fromStdin = parseResult.GetValue(passwordStdin);
        var password = !fromStdin && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PasswordVariable)) && askSecret is not null
            ? AskPassword(askSecret, emailValue)
            : await ReadPasswordAsync(fromStdin, input, cancellationToken).ConfigureAwait(false);
        return (connectionString, emailValue, password);
    }

    /// <summary>The password typed twice at the terminal, checked for length and that both agree.</summary>
    private static string AskPassword(Func<string, string> askSecret, string email)
    {
        var password = askSecret($"Password for {email.ToLowerInvariant()}: ");
        if (password.Length < MinPasswordLength)
        {
            throw CliException.Usage($"the password must have at least {MinPasswordLength} characters.");
        }

        return askSecret("The same password again: ") == password
            ? password
            : throw CliException.Usage("the two passwords differ; nothing was changed.");
    }

    /// <summary>The password from stdin's first line (<c>--password-stdin</c>) or the environment, checked for length.</summary>
    private static async Task<string> ReadPasswordAsync(bool fromStdin, TextReader input, CancellationToken cancellationToken)
    {
        string? password;
        string source;
        if (fromStdin)
        {
            password = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            source = "the password on stdin";
        }
        else
        {
            password = Environment.GetEnvironmentVariable(PasswordVariable);
            source = PasswordVariable;
        }

        if (string.IsNullOrEmpty(password))
        {
            throw CliException.Usage(fromStdin
                ? "--password-stdin: stdin had no password line."
                : $"no password: pipe it in with --password-stdin, or set {PasswordVariable}.");
        }

        return password.Length >= MinPasswordLength
            ? password
            : throw CliException.Usage($"{source} must have at least {MinPasswordLength} characters.");
    }

    internal const string NoDatabase = "no database: pass --connection or set ConnectionStrings__Postgres.";

    internal const int MinPasswordLength = LocalAccountService.MinPasswordLength;

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

    private static bool LooksLikeEmail(string value) => AppUserStore.IsPlausibleEmail(value);

    internal static string? ResolveConnectionString(string? fromOption)
    {
        var value = fromOption ?? new ConfigurationBuilder().AddEnvironmentVariables().Build().GetConnectionString("Postgres");
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
