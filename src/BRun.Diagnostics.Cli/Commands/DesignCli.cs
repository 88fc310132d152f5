using System.CommandLine;
using System.Text.Json;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// What the template and scaffolding commands share: they act for the user named by <c>--user</c> (row-level security
/// decides what that user may see and change), and turn refusals into one line on stderr. Exit 2: bad arguments
/// (unknown user, a key that is not a key, unreadable file); exit 1: refused (unknown placeholder, name taken, not
/// found, not allowed).
/// </summary>
internal static class DesignCli
{
    public const int ExitOk = 0;
    public const int ExitRefused = 1;
    public const int ExitUsage = 2;

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false };

    public static Option<string> UserOption() => new("--user")
    {
        Description = "Email of the user acting (and owning what is created).",
        DefaultValueFactory = _ => RunCommand.DefaultUserEmail,
    };

    public static Option<string> FormatOption() => new("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };

    public static bool IsJson(ParseResult parse, Option<string> format) =>
        string.Equals(parse.GetValue(format), "json", StringComparison.OrdinalIgnoreCase);

    public delegate Task<int> DesignAction(IHost host, DbIdentity identity, CancellationToken ct);

    /// <summary>Builds the host, resolves the user and runs the action, mapping refusals to exit codes.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Option<string> user, DesignAction action, CancellationToken ct, Func<IHost>? buildHost = null)
    {
        var error = parse.InvocationConfiguration.Error;
        using var host = buildHost?.Invoke() ?? CliHost.BuildForData();
        var email = parse.GetValue(user)!;
        if (await CliUsers.FindAsync(host, email, error, CommandPath(parse), ct).ConfigureAwait(false) is not { } owner)
        {
            return ExitUsage;
        }

        try
        {
            return await action(host, DbIdentity.User(owner.Id), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TemplatePlaceholderException or DesignConflictException or DesignNotFoundException or UnauthorizedAccessException)
        {
            throw new CliException(ExitRefused, ex.Message);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitUsage, ex.Message);
        }
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null && result.Parent is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command.Name);
        }

        return string.Join(' ', names);
    }

    /// <summary>Reads a template body file; a file that cannot be read is a usage error naming it.</summary>
    public static async Task<string> ReadBodyAsync(string path, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw CliException.Usage("--file needs the path of the template body (a text file).");
        }

        try
        {
            return await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.Usage($"cannot read --file {path}: {ex.Message}");
        }
    }

    public delegate Task FlagSetter(DesignStore store, DbIdentity identity, string name, bool off, CancellationToken ct);

    /// <summary>A command that sets or clears one flag (archive, share) on the item named by its argument; prints "ok".</summary>
    public static Command FlagCommand(string verb, string description, string argumentName, string argumentDescription, string offName, string offDescription, FlagSetter set)
    {
        var name = new Argument<string>(argumentName) { Description = argumentDescription };
        var off = new Option<bool>(offName) { Description = offDescription };
        var user = UserOption();
        var command = new Command(verb, description) { name, off, user };
        command.SetAction((parse, ct) => RunAsync(parse, user, async (host, identity, token) =>
        {
            await set(host.Services.GetRequiredService<DesignStore>(), identity, parse.GetValue(name)!, parse.GetValue(off), token).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync("ok").ConfigureAwait(false);
            return ExitOk;
        }, ct));
        return command;
    }

    public static string Visibility(DesignVisibility visibility, string? ownerEmail) => visibility switch
    {
        DesignVisibility.BuiltIn => "built-in",
        DesignVisibility.Shared => $"shared by {ownerEmail}",
        _ => $"private to {ownerEmail}",
    };
}
