namespace Inference.Tests.Repository;

/// <summary>Realistic Triton configs shared by the repository tests.</summary>
internal static class SampleConfigs
{
    /// <summary>A resnet-style config using most of what Triton users write.</summary>
    public const string Resnet = """
        # ResNet-50 served by the ONNX Runtime backend
        name: "resnet50"
        platform: "onnxruntime_onnx"
        max_batch_size: 8
        version_policy: { latest { num_versions: 2 } }
        input [
          {
            name: "input"
            data_type: TYPE_FP32
            format: FORMAT_NCHW
            dims: [ 3, 224, 224 ]
          }
        ]
        output [
          {
            name: "probs"
            data_type: TYPE_FP32
            dims: [ 1000 ]
            label_filename: "labels.txt"
          }
        ]
        instance_group [
          { count: 2, kind: KIND_GPU, gpus: [ 0, 1 ] },
          { name: "cpu_group" count: 1 kind: KIND_CPU }
        ]
        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 100
          preserve_ordering: true
          priority_levels: 2
          default_priority_level: 2
          default_queue_policy { timeout_action: REJECT, default_timeout_microseconds: 5000, max_queue_size: 64 }
          priority_queue_policy {
            key: 1
            value { timeout_action: DELAY default_timeout_microseconds: 1000 allow_timeout_override: true }
          }
        }
        optimization {
          graph { level: -1 }
          execution_accelerators {
            gpu_execution_accelerator : [ {
              name : "tensorrt"
              parameters { key: "precision_mode" value: "FP16" }
              parameters { key: "max_workspace_size_bytes" value: "1073741824" }
            } ]
          }
        }
        parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
        parameters: { key: "execution_mode" value { string_value: '0' } };
        model_warmup [
          {
            name: "zeros"
            batch_size: 4
            inputs {
              key: "input"
              value { data_type: TYPE_FP32 dims: [ 3, 224, 224 ] zero_data: true }
            }
          }
        ]
        """;
}
