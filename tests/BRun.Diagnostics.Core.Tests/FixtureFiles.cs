namespace BRun.Diagnostics.Core.Tests;

/// <summary>Reads the copied Messages API samples from the test output folder.</summary>
internal static class FixtureFiles
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static string Read(string name) => File.ReadAllText(Path.Combine(Directory, name));
}
