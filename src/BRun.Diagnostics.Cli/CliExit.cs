namespace BRun.Diagnostics.Cli;

/// <summary>
/// Exit codes, the same in every command: 0 done, 1 the operation was tried and failed (database down, a run that
/// cannot be cancelled, a timeout, rejected files), 2 the command line cannot be used as typed (malformed or
/// out-of-range values, missing arguments, or names of things that do not exist: a user, a run, a template, a file).
/// </summary>
internal static class CliExit
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}

/// <summary>
/// Thrown by a command to end with one line on stderr and an exit code; <see cref="BrunCommandLine"/> prints it as
/// <c>brun COMMAND: message</c>. Commands throw this rather than write errors themselves, so every command reports the same way.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException()
    {
    }

    public CliException(string message)
        : this(CliExit.Failure, message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = CliExit.Failure;
    }

    public CliException(int exitCode, string message)
        : base(message) => ExitCode = exitCode;

    public int ExitCode { get; } = CliExit.Failure;

    /// <summary>The command line cannot be used as typed (exit 2).</summary>
    public static CliException Usage(string message) => new(CliExit.Usage, message);

    /// <summary>The operation was tried and failed (exit 1).</summary>
    public static CliException Failed(string message) => new(CliExit.Failure, message);
}
