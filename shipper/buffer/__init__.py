"""shipper.buffer"""
