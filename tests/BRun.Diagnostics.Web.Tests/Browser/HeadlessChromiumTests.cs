namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>Where the browser tests find Chromium: BRUN_CHROMIUM first, then PATH; never a fixed Debian path.</summary>
public sealed class HeadlessChromiumTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("brun-chromium-");

    public void Dispose() => _root.Delete(recursive: true);

    private string Touch(string relative)
    {
        var path = Path.Combine(_root.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Empty);
        return path;
    }

    [Fact]
    public void The_variable_wins_over_PATH()
    {
        var configured = Touch("custom/chrome");
        var onPath = Touch("bin/chromium");

        Assert.Equal(configured, HeadlessChromium.FindExecutable(configured, Path.GetDirectoryName(onPath)));
    }

    [Fact]
    public void Without_the_variable_the_first_known_name_on_PATH_is_used()
    {
        var empty = Path.Combine(_root.FullName, "empty");
        var browser = Touch("tools/chromium-browser");

        Assert.Equal(browser, HeadlessChromium.FindExecutable(null, empty + Path.PathSeparator + Path.GetDirectoryName(browser)));
    }

    [Fact]
    public void A_variable_naming_a_missing_file_fails_naming_the_variable()
    {
        var missing = Path.Combine(_root.FullName, "nowhere", "chromium");

        var error = Assert.Throws<InvalidOperationException>(() => HeadlessChromium.FindExecutable(missing, null));
        Assert.Contains("BRUN_CHROMIUM", error.Message, StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_browser_anywhere_fails_saying_how_to_provide_one()
    {
        var error = Assert.Throws<InvalidOperationException>(() => HeadlessChromium.FindExecutable(" ", _root.FullName));
        Assert.Contains("Set BRUN_CHROMIUM", error.Message, StringComparison.Ordinal);
    }
}
