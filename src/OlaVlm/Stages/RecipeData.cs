using OlaVlm.Data;
using OlaVlm.Text;
using OlaVlm.World;

namespace OlaVlm.Stages;

/// The world's conversation pools that the stages draw from, each loaded once per experiment and shared by
/// both arms: PT's captions (and the few-object captions of PT's curriculum), IFT's instructions and the
/// one-hop questions of IFT's curriculum. Batches are a pure function of (seed, index), so sharing a pool
/// never couples the arms.
public sealed class RecipeData(WorldData world, ITokenizer tokenizer, ChatTemplate template, double iftFraction = 1.0) : IDisposable
{
    ConversationStageData? _captions, _fewObjects, _instructions, _oneHop;
    int _fewObjectsMax;

    /// pt.json: one caption per image.
    public ConversationStageData Captions => _captions ??= Pool(LlavaDataset.Load(world.PtJson));

    /// The captions of scenes with at most `maxObjects` objects (PT's curriculum; one pool per experiment).
    public ConversationStageData FewObjectCaptions(int maxObjects)
    {
        if (_fewObjects is not null && _fewObjectsMax != maxObjects)
            throw new ArgumentException($"RecipeData: few-object captions already loaded for at most {_fewObjectsMax} objects, not {maxObjects}");
        _fewObjectsMax = maxObjects;
        return _fewObjects ??= Pool(Pretraining.FewObjectCaptions(world, maxObjects));
    }

    /// ift.json: benchmark-style instructions with text-only turns (ExperimentConfig.IftDataFraction of it).
    public ConversationStageData Instructions => _instructions ??= Pool(Ift(world.IftJson));

    /// ift_onehop.json: one-hop look-ups ("where is the red cube?"), IFT's curriculum.
    public ConversationStageData OneHop => _oneHop ??= Pool(Ift(world.IftOneHopJson));

    LlavaDataset Ift(string path) => iftFraction < 1 ? LlavaDataset.Load(path).Fraction(iftFraction) : LlavaDataset.Load(path);

    ConversationStageData Pool(LlavaDataset set) => new(new ConversationData(set, tokenizer, template), tokenizer.ImageId);

    public void Dispose()
    {
        foreach (var pool in new[] { _captions, _fewObjects, _instructions, _oneHop }) pool?.Data.Dispose();
    }
}
