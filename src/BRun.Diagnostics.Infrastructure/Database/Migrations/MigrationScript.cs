using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace BRun.Diagnostics.Infrastructure.Database.Migrations;

/// <summary>One numbered SQL file from <c>migrations/</c>, e.g. <c>0002_failed_generations.sql</c>.</summary>
public sealed record MigrationScript(int Version, string Name, string Sql)
{
    /// <summary>SHA-256 of the SQL with line endings normalised, so a CRLF checkout does not look like an edit.</summary>
    public string Checksum => ComputeChecksum(Sql);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Version:D4}_{Name}");

    /// <summary>Parses <c>NNNN_name.sql</c>.</summary>
    public static MigrationScript FromFile(string fileName, string sql)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var bare = Path.GetFileNameWithoutExtension(fileName);
        var underscore = bare.IndexOf('_', StringComparison.Ordinal);
        if (underscore <= 0 || !int.TryParse(bare.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidOperationException($"Migration file '{fileName}' must be named NNNN_name.sql.");
        }

        return new MigrationScript(version, bare[(underscore + 1)..], sql);
    }

    private static string ComputeChecksum(string sql)
    {
        var normalized = sql.ReplaceLineEndings("\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }
}

/// <summary>The migrations embedded in this assembly from the repository's <c>migrations/*.sql</c>.</summary>
public static class EmbeddedMigrations
{
    private const string Prefix = "migrations/";

    public static IReadOnlyList<MigrationScript> Load()
    {
        var assembly = typeof(EmbeddedMigrations).Assembly;
        var scripts = new List<MigrationScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            scripts.Add(MigrationScript.FromFile(resource[Prefix.Length..], Read(assembly, resource)));
        }

        return Ordered(scripts);
    }

    /// <summary>Sorts by version and refuses duplicates (two branches that picked the same number).</summary>
    public static IReadOnlyList<MigrationScript> Ordered(IEnumerable<MigrationScript> scripts)
    {
        var ordered = scripts.OrderBy(s => s.Version).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Version == ordered[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {ordered[i].Version:D4}: {ordered[i - 1]} and {ordered[i]}.");
            }
        }

        return ordered;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded migration '{resource}' is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
