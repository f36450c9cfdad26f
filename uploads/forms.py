"""The upload page's form: one file; upload_create does every media check."""

from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Audio or video file",
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*,video/*"}),
    )
