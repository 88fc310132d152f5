using System.Text;
using BRun.Diagnostics.Web.Styling;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Web.Tests.Styling;

/// <summary>The cut is made from whatever MudBlazor sheet the web root holds; without one, pages keep the whole sheet.</summary>
public sealed class FirstPaintStylesheetBuildTests : IDisposable
{
    private readonly string _webRoot = Directory.CreateTempSubdirectory("brun-webroot-").FullName;

    public void Dispose() => Directory.Delete(_webRoot, recursive: true);

    private FirstPaintStylesheet Stylesheet(RecordingLogger logger) =>
        new(new WebRoot(new PhysicalFileProvider(_webRoot)), logger);

    [Fact]
    public void Without_MudBlazors_sheet_in_the_web_root_there_is_no_cut_and_a_warning_says_so()
    {
        var logger = new RecordingLogger();

        Assert.Null(Stylesheet(logger).Sheet);
        Assert.Equal([7810], logger.EventIds);
    }

    [Fact]
    public void The_cut_is_made_from_the_sheet_in_the_web_root_and_named_by_its_content()
    {
        var path = Path.Combine(_webRoot, "_content", "MudBlazor");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "MudBlazor.min.css"), ".mud-table-cell{padding:16px}.mud-timeline{margin:0}");
        var logger = new RecordingLogger();

        var sheet = Stylesheet(logger).Sheet;

        Assert.NotNull(sheet);
        Assert.Equal(".mud-table-cell{padding:16px}", Encoding.UTF8.GetString(sheet.Css));
        Assert.Equal(sheet, FirstPaintSheet.Create(".mud-table-cell{padding:16px}"), FirstPaintSheetComparer.Instance);
        Assert.Equal([7811], logger.EventIds);
    }

    private sealed class FirstPaintSheetComparer : IEqualityComparer<FirstPaintSheet?>
    {
        public static readonly FirstPaintSheetComparer Instance = new();

        public bool Equals(FirstPaintSheet? x, FirstPaintSheet? y) => x?.Url == y?.Url && x?.ETag == y?.ETag;

        public int GetHashCode(FirstPaintSheet? obj) => obj?.Url.GetHashCode(StringComparison.Ordinal) ?? 0;
    }

    private sealed class WebRoot(IFileProvider files) : IWebHostEnvironment
    {
        public string WebRootPath { get; set; } = string.Empty;

        public IFileProvider WebRootFileProvider { get; set; } = files;

        public string ApplicationName { get; set; } = "BRun.Diagnostics.Web";

        public IFileProvider ContentRootFileProvider { get; set; } = files;

        public string ContentRootPath { get; set; } = string.Empty;

        public string EnvironmentName { get; set; } = "Production";
    }

    private sealed class RecordingLogger : ILogger<FirstPaintStylesheet>
    {
        public List<int> EventIds { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            EventIds.Add(eventId.Id);
    }
}
