using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// Launches the system's Chromium for the browser tests. <c>BRUN_CHROMIUM</c> names the executable (any Chromium or
/// Chrome build); otherwise the first of <c>chromium</c>, <c>chromium-browser</c>, <c>google-chrome</c> on PATH. A
/// missing browser fails the test with a message saying how to provide one, never a skip.
/// </summary>
internal static class HeadlessChromium
{
    public const string Variable = "BRUN_CHROMIUM";

    private static readonly string[] Names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright, string executable)
    {
        ArgumentNullException.ThrowIfNull(playwright);
        return playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public static string FindExecutable() =>
        FindExecutable(Environment.GetEnvironmentVariable(Variable), Environment.GetEnvironmentVariable("PATH"));

    /// <summary>The executable: <paramref name="configured"/> when set (it must exist), else the first known name on <paramref name="path"/>.</summary>
    internal static string FindExecutable(string? configured, string? path)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"{Variable} is set to '{configured}', which does not exist.");
        }

        var directories = (path ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return Names.SelectMany(name => directories.Select(directory => Path.Combine(directory, name))).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"Chromium was not found ({string.Join(", ", Names)} on PATH). Set {Variable} to a Chromium or Chrome executable, "
                + "run the tests with `./brun.sh test` (it installs Chromium), or `apt-get install -y chromium`.");
    }
}
