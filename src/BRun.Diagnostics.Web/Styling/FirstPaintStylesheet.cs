using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Styling;

/// <summary>
/// The part of MudBlazor's stylesheet the dashboard's pages need for their first paint. A new tab is a new renderer
/// process that parses the whole sheet again (627 KB, 4,058 rules: 28–78 ms of the main thread, docs/dashboard.md)
/// before it paints or starts the circuit. Pages link this cut instead (rules for the classes in FirstPaintClasses.txt)
/// and the whole sheet is added behind it once the page works (WholeStylesheetLoader, brun-start.js): the cascade then
/// is the original one, and
/// what opens later (dialogs, menus, pickers) finds its rules. Built as the host starts (FirstPaintStylesheetWarmup)
/// from the sheet the app serves, so a MudBlazor update changes both together.
/// </summary>
public sealed partial class FirstPaintStylesheet(IWebHostEnvironment environment, ILogger<FirstPaintStylesheet> logger)
{
    /// <summary>The whole sheet, as the app serves it (a static web asset of the MudBlazor package).</summary>
    public const string FullSheetPath = "_content/MudBlazor/MudBlazor.min.css";

    private const string ClassListResource = "BRun.Diagnostics.Web.Styling.FirstPaintClasses.txt";

    private readonly Lazy<FirstPaintSheet?> _sheet = new(() => Build(environment, logger));

    /// <summary>The cut sheet; null when the whole sheet could not be read (pages then link the whole sheet, as before).</summary>
    public FirstPaintSheet? Sheet => _sheet.Value;

    /// <summary>The classes whose rules the cut keeps: names, and patterns with '*'.</summary>
    public static ClassList ReadClassList()
    {
        using var stream = typeof(FirstPaintStylesheet).Assembly.GetManifestResourceStream(ClassListResource)
            ?? throw new InvalidOperationException($"The embedded resource {ClassListResource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return ClassList.Parse(reader.ReadToEnd());
    }

    private static FirstPaintSheet? Build(IWebHostEnvironment environment, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var file = environment.WebRootFileProvider.GetFileInfo(FullSheetPath);
        if (!file.Exists)
        {
            LogFullSheetMissing(logger, FullSheetPath);
            return null;
        }

        try
        {
            string css;
            using (var reader = new StreamReader(file.CreateReadStream(), Encoding.UTF8))
            {
                css = reader.ReadToEnd();
            }

            var classes = ReadClassList();
            var cut = CssClassFilter.Filter(css, classes.Contains);
            var sheet = FirstPaintSheet.Create(cut);
            LogBuilt(logger, cut.Length, css.Length, sheet.Url, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return sheet;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The pages still work with the whole sheet; only their first paint is slower.
            LogCutFailed(logger, e);
            return null;
        }
    }

    [LoggerMessage(EventId = 7810, Level = LogLevel.Warning, Message = "MudBlazor's stylesheet {Path} was not found in the web root; pages link the whole sheet, parsed again by every new tab")]
    private static partial void LogFullSheetMissing(ILogger logger, string path);

    [LoggerMessage(EventId = 7813, Level = LogLevel.Error, Message = "MudBlazor's stylesheet could not be cut for the first paint; pages link the whole sheet")]
    private static partial void LogCutFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7811, Level = LogLevel.Debug, Message = "First-paint stylesheet: {Kept} of MudBlazor's {Total} characters, served at {Url}, cut in {ElapsedMs:F0} ms")]
    private static partial void LogBuilt(ILogger logger, int kept, int total, string url, double elapsedMs);
}

/// <summary>
/// A class list: exact names, and patterns in which '*' stands for any run of characters. Lines starting with '#' are
/// comments.
/// </summary>
public sealed class ClassList
{
    private readonly HashSet<string> _names;
    private readonly Regex? _patterns;

    private ClassList(HashSet<string> names, Regex? patterns)
    {
        _names = names;
        _patterns = patterns;
    }

    public static ClassList Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var patterns = entries.Where(e => e.Contains('*', StringComparison.Ordinal))
            .Select(e => "^" + string.Join(".*", e.Split('*').Select(Regex.Escape)) + "$")
            .ToList();
        return new ClassList(
            entries.Where(e => !e.Contains('*', StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal),
            patterns.Count == 0 ? null : new Regex(string.Join('|', patterns), RegexOptions.CultureInvariant));
    }

    public bool Contains(string className) => _names.Contains(className) || (_patterns?.IsMatch(className) ?? false);
}

/// <summary>The cut sheet, named by its content's hash (so it is cached for good), and its compressed forms.</summary>
public sealed record FirstPaintSheet(string Hash, byte[] Css, byte[] Brotli, byte[] Gzip)
{
    public const string UrlPrefix = "/_styles/first-paint.";

    public string Url => $"{UrlPrefix}{Hash}.css";

    /// <summary>The URL relative to the pages' &lt;base href&gt;.</summary>
    public string Href => Url[1..];

    public string ETag => $"\"{Hash}\"";

    public static FirstPaintSheet Create(string css)
    {
        var bytes = Encoding.UTF8.GetBytes(css);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        return new FirstPaintSheet(hash, bytes, Compress(bytes, brotli: true), Compress(bytes, brotli: false));
    }

    private static byte[] Compress(byte[] bytes, bool brotli)
    {
        using var output = new MemoryStream();
        using (Stream compressor = brotli
            ? new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true)
            : new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            compressor.Write(bytes);
        }

        return output.ToArray();
    }
}

public static class FirstPaintStylesheetEndpoints
{
    /// <summary>Serves the cut sheet to anyone (the sign-in page uses it), compressed when the browser accepts it.</summary>
    public static IEndpointRouteBuilder MapFirstPaintStylesheet(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(FirstPaintSheet.UrlPrefix + "{hash}.css", (string hash, HttpContext context, FirstPaintStylesheet stylesheet) =>
        {
            if (stylesheet.Sheet is not { } sheet || !string.Equals(sheet.Hash, hash, StringComparison.Ordinal))
            {
                return Results.NotFound();
            }

            var headers = context.Response.Headers;
            headers.CacheControl = "public, max-age=31536000, immutable";
            headers.ETag = sheet.ETag;
            headers.Vary = HeaderNames.AcceptEncoding;
            if (context.Request.Headers.IfNoneMatch == sheet.ETag)
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }

            var accepted = context.Request.GetTypedHeaders().AcceptEncoding;
            var (body, encoding) = Accepts(accepted, "br") ? (sheet.Brotli, "br")
                : Accepts(accepted, "gzip") ? (sheet.Gzip, "gzip")
                : (sheet.Css, (string?)null);
            if (encoding is not null)
            {
                headers.ContentEncoding = encoding;
            }

            return Results.Bytes(body, "text/css; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription();
        return endpoints;
    }

    private static bool Accepts(IList<StringWithQualityHeaderValue> accepted, string coding) =>
        accepted.Any(a => string.Equals(a.Value.Value, coding, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);
}

/// <summary>Cuts the first-paint sheet as the host starts, so that the first page after a start does not wait for it.</summary>
public sealed class FirstPaintStylesheetWarmup(FirstPaintStylesheet stylesheet) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Not awaited: start-up does not wait for it, and a request arriving first waits on the same Lazy.
        _ = Task.Run(() => stylesheet.Sheet, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
