"""ECG Arrhythmia Detector: the Gradio app (a Hugging Face Space). Thin: UI wiring only."""

import gradio as gr

with gr.Blocks(title="ECG Arrhythmia Detector") as demo:
    gr.Markdown("# ECG Arrhythmia Detector\nResearch tool, not a medical device.")

if __name__ == "__main__":
    demo.launch()
