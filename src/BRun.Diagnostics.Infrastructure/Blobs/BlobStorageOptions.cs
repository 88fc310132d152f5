using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Blobs;

/// <summary>Blob storage for error reports. Section <c>BlobStorage</c>; the connection string comes from <c>ConnectionStrings:Blobs</c>.</summary>
public sealed class BlobStorageOptions
{
    public const string SectionName = "BlobStorage";

    /// <summary>Azure Storage connection string (Azurite locally). Default: <c>ConnectionStrings:Blobs</c>. Required.</summary>
    [Required]
    public string? ConnectionString { get; set; }

    /// <summary>Container for the reports, created private on first use. Default: <c>failed-generation-files</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Not a valid blob container name.")]
    public string ContainerName { get; set; } = "failed-generation-files";

    /// <summary>Retries the Azure SDK makes per call before the upload counts as failed. Default: 2.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Timeout of one blob call. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
