using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// fp32 master copies of a bf16 model's trainable weights: mixed precision without autocast (TorchSharp has
/// none on the CPU). The model computes forward and backward in bf16; each micro-batch's bf16 gradients are
/// added onto fp32 copies; clipping, AdamW (with fp32 moments) and the update act on the copies; after the step
/// the copies are rounded into the model's weights.
///
/// Why: a bf16 weight has 8 significant bits, so an update smaller than about 2^-9 of the weight is rounded
/// away (at lr 3e-4, AdamW's ~lr-sized steps vanish on any weight above ~0.15) and small updates never add
/// up; and AdamW's second moment cannot decay in bf16 (0.999·v rounds back to v). The copies keep every
/// update. Cost: 4 bytes more per trainable weight, plus the fp32 moments.
/// Loss scaling is not needed: bf16 has fp32's exponent range, gradients do not underflow.
public sealed class MasterWeights : IDisposable
{
    readonly Parameter[] _model;
    readonly Parameter[] _masters;
    readonly Dictionary<Parameter, Parameter> _byModel = new(ReferenceEqualityComparer.Instance);

    /// fp32 copies of `trainable`, in the same order.
    public MasterWeights(IEnumerable<Parameter> trainable)
    {
        _model = trainable.ToArray();
        using (no_grad())
            _masters = _model.Select(p => new Parameter(p.detach().to(ScalarType.Float32).clone(), requires_grad: true)).ToArray();
        for (int i = 0; i < _model.Length; i++) _byModel[_model[i]] = _masters[i];
    }

    public IReadOnlyList<Parameter> Masters => _masters;

    /// The fp32 copy of a model parameter.
    public Parameter Of(Parameter modelParameter) => _byModel.TryGetValue(modelParameter, out var m) ? m
        : throw new KeyNotFoundException("MasterWeights: this parameter is not one of the trainable parameters the copies were made of");

    /// Adds the model's gradients (bf16) onto the copies' (fp32) and frees them, so micro-batches accumulate
    /// in fp32. Call after every backward.
    public void AccumulateGradients()
    {
        using var _ = no_grad();
        for (int i = 0; i < _model.Length; i++)
        {
            using var g = _model[i].grad;
            if (g is null) continue;
            using var g32 = g.to(ScalarType.Float32);
            using var mg = _masters[i].grad;
            if (mg is null) _masters[i].grad = g32.clone();
            else mg.add_(g32);
            _model[i].grad = null;
        }
    }

    /// Rounds the (updated) copies into the model's weights. Call after the optimizer step.
    public void CopyToModel()
    {
        using var _ = no_grad();
        for (int i = 0; i < _model.Length; i++) _model[i].copy_(_masters[i]);
    }

    /// Overwrites the copies with `values` (a checkpoint's masters) by index, or from the model when null.
    public void Load(IReadOnlyList<Tensor>? values = null)
    {
        if (values is not null && values.Count != _masters.Length)
            throw new InvalidDataException($"MasterWeights: {values.Count} saved copies for {_masters.Length} trainable parameters");
        using var _ = no_grad();
        for (int i = 0; i < _masters.Length; i++)
        {
            var v = values?[i] ?? _model[i];
            if (!v.shape.SequenceEqual(_masters[i].shape))
                throw new InvalidDataException($"MasterWeights: saved copy {i} has shape [{string.Join(", ", v.shape)}], the parameter [{string.Join(", ", _masters[i].shape)}]");
            _masters[i].copy_(v);
        }
    }

    public void Dispose() { foreach (var m in _masters) m.Dispose(); }
}
