using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using Npgsql;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun token create</c>: creates a personal API token for <c>Authorization: Bearer</c> on the HTTP endpoints.
/// The token is printed once, alone on standard output; only its SHA-256 hash is stored.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var connection = UserCommand.ConnectionOption();
        var email = new Option<string>("--email") { Description = "Owner of the token.", Required = true };
        var name = new Option<string?>("--name") { Description = "A label to recognise the token by. Default: cli." };
        var create = new Command("create", "Create an API token and print it (once).") { email, name, connection };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var connectionString = UserCommand.RequireConnectionString(parseResult.GetValue(connection));

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var connections = new UserScopedConnectionFactory(dataSource);
            var emailValue = UserCommand.RequireEmail("--email", parseResult.GetRequiredValue(email));
            if (parseResult.GetValue(name) is { } label && string.IsNullOrWhiteSpace(label))
            {
                throw CliException.Usage("--name must not be empty (leave it out for 'cli').");
            }

            var user = await new AppUserStore(connections).GetByEmailAsync(emailValue, cancellationToken).ConfigureAwait(false);
            if (user is null)
            {
                throw CliException.Usage($"No user {emailValue.Trim().ToLowerInvariant()}. Create it with: brun user create --email {emailValue.Trim().ToLowerInvariant()} --password PASSWORD");
            }

            var token = await new ApiTokenStore(connections, TimeProvider.System)
                .CreateAsync(user.Id, parseResult.GetValue(name) ?? "cli", cancellationToken).ConfigureAwait(false);
            // Stdout carries the token alone, so `TOKEN=$(brun token create ...)` works; the note goes to stderr.
            await output.WriteLineAsync(token.Token).ConfigureAwait(false);
            await error.WriteLineAsync($"Token '{token.Name}' for {user.Email} created; it is shown only this once.").ConfigureAwait(false);
            return 0;
        });

        return new Command("token", "Manage API tokens.") { create };
    }
}
