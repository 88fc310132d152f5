using System.CommandLine;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests;

/// <summary>
/// Walks every command of the real command tree (so a new command is walked without touching this test) with
/// missing, malformed, out-of-range and hostile arguments, in process. Every answer must be exit 0, 1 or 2; an
/// error is exactly one line on stderr with no stack trace; a malformed value or a missing argument is exit 2.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class CliWalkerTests(IntegrationEnvironment env)
{
    private static readonly string[] NumberValues = ["abc", "-1", "1.5", "99999999999999", "", "１"];
    private static readonly string[] TextValues = ["", "😀", "'; DROP TABLE app_users;--", "\u202e", new string('x', 10_240)];
    private static readonly string[] IdValues = ["abc", "", "3f2504e0", "00000000-0000-0000-0000-000000000000"];

    [Fact]
    public async Task Every_command_answers_bad_arguments_with_one_line_and_exit_1_or_2()
    {
        await using var db = await env.CreateDatabaseAsync();
        var valid = new Dictionary<string, string>
        {
            ["--count"] = "1",
            ["--email"] = "walker@example.test",
            ["--password"] = "walker-pass-1",
            ["--connection"] = db.ConnectionString,
        };
        var failures = new List<string>();
        var commands = Leaves(BrunCommandLine.Build(), "brun").ToList();
        Assert.Contains(commands, c => c.Path == "brun run create");

        using var environment = new EnvironmentScope(new()
        {
            ["ConnectionStrings__Postgres"] = db.ConnectionString,
            ["ConnectionStrings__Blobs"] = env.Azurite.ConnectionString,
        });
        foreach (var (path, command) in commands)
        {
            var words = path.Split(' ')[1..];
            await CheckAsync(path, [.. words, "--no-such-option"], mustBeUsage: true);
            if (path == "brun worker")
            {
                continue; // Anything it accepts runs until stopped.
            }

            var required = command.Options.Where(o => o.Required).ToList();
            string[] RequiredExcept(Option skip) =>
                [.. required.Where(o => o != skip).SelectMany(o => new[] { o.Name, valid.GetValueOrDefault(o.Name, "x") })];
            string[] Arguments() => [.. command.Arguments.Select(a => a.Name == "PATH" ? "/nonexistent" : Guid.NewGuid().ToString("D"))];

            if (required.Count > 0 || command.Arguments.Any(a => a.Arity.MinimumNumberOfValues > 0))
            {
                await CheckAsync(path, words, mustBeUsage: true);
            }

            foreach (var option in command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Arity.MaximumNumberOfValues > 0))
            {
                var numeric = option.ValueType != typeof(string) && option.ValueType != typeof(string[]);
                foreach (var value in numeric ? NumberValues : TextValues)
                {
                    await CheckAsync(path, [.. words, .. Arguments(), .. RequiredExcept(option), option.Name, value], mustBeUsage: numeric);
                }

                if (option.ValueType != typeof(bool))
                {
                    await CheckAsync(path, [.. words, .. Arguments(), .. RequiredExcept(option), option.Name], mustBeUsage: true);
                }
            }

            foreach (var argument in command.Arguments.Where(a => a.ValueType == typeof(Guid)))
            {
                foreach (var value in IdValues)
                {
                    string[] args = [.. words, value, .. required.SelectMany(o => new[] { o.Name, valid.GetValueOrDefault(o.Name, "x") })];
                    await CheckAsync(path, args, mustBeUsage: !Guid.TryParse(value, out _));
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(40)));

        async Task CheckAsync(string command, string[] args, bool mustBeUsage)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exit = await BrunCommandLine.InvokeAsync(args, output, error);
            var shown = string.Join(' ', args.Select(a => a.Length > 40 ? a[..40] + "…" : a));
            var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (exit is < 0 or > 2)
            {
                failures.Add($"{shown}: exit {exit}");
            }
            else if (mustBeUsage && exit != CliExit.Usage)
            {
                failures.Add($"{shown}: exit {exit}, expected 2");
            }
            else if (exit != 0 && lines.Length != 1)
            {
                failures.Add($"{shown}: {lines.Length} lines on stderr: {error.ToString()[..Math.Min(300, error.ToString().Length)]}");
            }
            else if (exit != 0 && !lines[0].StartsWith(command + ": ", StringComparison.Ordinal))
            {
                failures.Add($"{shown}: the error does not start with '{command}: ': {lines[0][..Math.Min(200, lines[0].Length)]}");
            }
            else if (lines.Any(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal)))
            {
                failures.Add($"{shown}: stack trace or exception name on stderr: {lines[0]}");
            }
        }
    }

    private static IEnumerable<(string Path, Command Command)> Leaves(Command command, string path)
    {
        if (command.Action is not null)
        {
            yield return (path, command);
        }

        foreach (var sub in command.Subcommands)
        {
            foreach (var leaf in Leaves(sub, path + " " + sub.Name))
            {
                yield return leaf;
            }
        }
    }

    /// <summary>Sets process environment variables for the commands that read configuration, and restores them.</summary>
    private sealed class EnvironmentScope : IDisposable
    {
        private readonly Dictionary<string, string?> _previous = [];

        public EnvironmentScope(Dictionary<string, string?> values)
        {
            foreach (var (key, value) in values)
            {
                _previous[key] = Environment.GetEnvironmentVariable(key);
                Environment.SetEnvironmentVariable(key, value);
            }
        }

        public void Dispose()
        {
            foreach (var (key, value) in _previous)
            {
                Environment.SetEnvironmentVariable(key, value);
            }
        }
    }
}
