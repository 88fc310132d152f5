using System.Text.RegularExpressions;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>PostgreSQL settings every connection of the application starts with (startup options, kept across pool resets).</summary>
public static partial class DatabaseSessionDefaults
{
    /// <summary>
    /// Turns JIT compilation off unless the connection string's <c>Options</c> already say how to set it. The
    /// planner compiles any statement its estimate puts above <c>jit_above_cost</c>, and the estimates of the
    /// dashboard's statements under row-level security are far off: a broad search's first page (1 ms of work) spent
    /// 66 ms compiling, and a scan of a million rows gained nothing from compiled expressions (580 ms without, 660 ms
    /// with); above <c>jit_optimize_above_cost</c> (a few million rows) optimising and inlining add about a second
    /// to every such scan (docs/operations.md).
    /// </summary>
    public static void Apply(NpgsqlConnectionStringBuilder connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var options = connectionString.Options;
        if (options is not null && JitSetting().IsMatch(options))
        {
            return;
        }

        connectionString.Options = string.IsNullOrWhiteSpace(options) ? "-c jit=off" : options.Trim() + " -c jit=off";
    }

    // "-c jit=on", "-cjit=on" or "--jit=on": the setting itself, not a value that happens to contain the word.
    [GeneratedRegex(@"(?:-c\s*|--)jit\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex JitSetting();
}
