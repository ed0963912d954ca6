"""The province's product list as a file: its header row."""

from __future__ import annotations

HEADER = ["Tên chủ thể", "Loại chủ thể", "Mã số thuế", "Số điện thoại", "Tỉnh/thành phố", "Xã/phường", "Huyện (cũ)",
          "Tên sản phẩm", "Nhóm sản phẩm", "Phân nhóm", "Số sao", "Điểm", "Số quyết định", "Ngày quyết định",
          "Hiệu lực đến"]
