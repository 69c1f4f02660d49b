using System.Text.Json.Serialization;

namespace OlaVlm.World;

/// One turn of a LLaVA conversation: From is "human" or "gpt".
public sealed record Turn(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("value")] string Value);

/// One record of LLaVA's training JSON (llava_v1_5_mix665k.json / blip_laion_cc_sbu_558k.json):
/// `image` is relative to the image folder and absent for text-only conversations; the first human turn
/// of an image record carries the "<image>" placeholder.
public sealed record LlavaRecord(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("image"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Image,
    [property: JsonPropertyName("conversations")] IReadOnlyList<Turn> Conversations)
{
    public const string ImageToken = "<image>";
    public const string Human = "human", Gpt = "gpt";
    [JsonIgnore] public bool HasImage => Image != null;
}
