using System.Text;

namespace BRun.Diagnostics.Cli;

/// <summary>
/// Reads a secret typed at a terminal without echoing it, for a person who runs <c>brun user create</c> by hand with
/// neither <c>--password-stdin</c> nor the environment variable. Only used when standard input is a terminal.
/// </summary>
internal static class TerminalSecret
{
    /// <summary>Whether a person can be asked: standard input is a terminal, not a pipe or a file.</summary>
    public static bool Available => !Console.IsInputRedirected;

    /// <summary>Writes <paramref name="prompt"/> to stderr and reads one line, showing nothing of it.</summary>
    public static string Read(string prompt)
    {
        Console.Error.Write(prompt);
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (typed.Length > 0)
                {
                    typed.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return typed.ToString();
    }
}
