using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>Postgres settings. Section <c>Database</c>; the connection string comes from <c>ConnectionStrings:Postgres</c>.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary>Npgsql connection string. Default: <c>ConnectionStrings:Postgres</c>. Required.</summary>
    [Required]
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations when the host starts. Default: false.</summary>
    public bool MigrateOnStart { get; set; }
}
